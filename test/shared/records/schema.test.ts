import { Ajv2020 } from 'ajv/dist/2020.js'
import fastJson from 'fast-json-stringify'
import t from 'tap'
import { recordHistorySchema } from '../../../functions/get-record/history-schema.ts'
import { RecordPage } from '../../../shared/records/schema.ts'

/** Paths of every anyOf, oneOf or if (what makes fast-json-stringify build an Ajv of its own at a route's first response). */
function branching (node: unknown, path = ''): string[] {
  if (node === null || typeof node !== 'object') return []
  return Object.entries(node).flatMap(([key, value]) => [
    ...(['anyOf', 'oneOf', 'if'].includes(key) ? [`${path}/${key}`] : []),
    ...branching(value, `${path}/${key}`)
  ])
}

const historyPage = recordHistorySchema.response[200].content['application/json'].schema

t.test('the list and history pages serialize without a schema validator: no anyOf, oneOf or if in them', async (t) => {
  t.same(branching(RecordPage), [], 'RecordPage')
  t.same(branching(historyPage), [], 'history page')
})

t.test('nextCursor accepts a string or null, and nothing else; both serialize as given', async (t) => {
  const ajv = new Ajv2020({ strict: false })
  const validate = ajv.compile({ ...RecordPage, $id: undefined })
  t.ok(validate({ items: [], nextCursor: null }))
  t.ok(validate({ items: [], nextCursor: 'abc' }))
  t.notOk(validate({ items: [], nextCursor: 1 }))
  t.notOk(validate({ items: [] }), 'required')
  const serialize = fastJson(historyPage)
  t.equal(serialize({ items: [], nextCursor: null }), '{"items":[],"nextCursor":null}')
  t.equal(serialize({ items: [], nextCursor: 'abc' }), '{"items":[],"nextCursor":"abc"}')
})
