import { readFile } from 'node:fs/promises'
import t from 'tap'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { documentationFiles } from '../../scripts/openapi/files.ts'
import { createRecordRequests, createdRecord, historyPage, triagedRecord, updateRecordRequests } from '../../scripts/openapi/examples.ts'
import { buildRecordsApi } from '../support/records-api.ts'

const DOCUMENT_ID = 'https://security-records.invalid/openapi.json'
const document = JSON.parse(await readFile(documentationFiles.openapiJson, 'utf8')) as Record<string, unknown>

interface Located { pointer: string, value: unknown }
interface ExampleCheck { where: string, schemaPointer: string, value: unknown }

const escape = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * Every example in the document, with the JSON Pointer of the schema it must satisfy: `example`
 * or named `examples` beside a `schema` (media types, parameters, headers), and JSON Schema
 * `examples` arrays inside a schema.
 */
function collectExamples (node: unknown, pointer = '', inSchema = false): ExampleCheck[] {
  if (node === null || typeof node !== 'object') return []
  if (Array.isArray(node)) return node.flatMap((item, index) => collectExamples(item, `${pointer}/${index}`, inSchema))
  const object = node as Record<string, unknown>
  const found: ExampleCheck[] = []
  if (inSchema && Array.isArray(object.examples)) {
    object.examples.forEach((value, index) => found.push({ where: `${pointer}/examples/${index}`, schemaPointer: pointer, value }))
  }
  if (!inSchema && 'schema' in object) {
    const examples: Located[] = []
    if ('example' in object) examples.push({ pointer: `${pointer}/example`, value: object.example })
    for (const [name, example] of Object.entries((object.examples ?? {}) as Record<string, { value: unknown }>)) {
      examples.push({ pointer: `${pointer}/examples/${escape(name)}`, value: example.value })
    }
    for (const example of examples) found.push({ where: example.pointer, schemaPointer: `${pointer}/schema`, value: example.value })
  }
  for (const [key, value] of Object.entries(object)) {
    if (!inSchema && (key === 'example' || key === 'examples')) continue
    const childPointer = `${pointer}/${escape(key)}`
    found.push(...collectExamples(value, childPointer, inSchema || key === 'schema' || pointer === '/components/schemas'))
  }
  return found
}

t.test('every example in the document validates against its schema (Ajv, JSON Schema 2020-12)', async (t) => {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  ;(addFormats as unknown as (ajv: Ajv2020) => void)(ajv)
  ajv.addSchema(document, DOCUMENT_ID)
  const checks = collectExamples(document)
  const where = new Set(checks.map((check) => check.where.replace(/\/(example|examples\/.*)$/, '')))
  // Request bodies, success responses, every problem, header components and parameters.
  t.ok(checks.length >= 60, `${checks.length} examples found`)
  for (const place of ['/paths/~1v1~1records/post/requestBody/content/application~1json', '/paths/~1v1~1records/post/responses/201/content/application~1json',
    '/paths/~1v1~1records~1{id}/patch/requestBody/content/application~1merge-patch+json', '/paths/~1v1~1records~1{id}~1history/get/responses/200/content/application~1json',
    '/paths/~1v1~1records/get/responses/200/content/application~1json', '/paths/~1v1~1records~1{id}/delete/responses/412/content/application~1problem+json',
    '/components/headers/ETag', '/components/headers/RetryAfter']) {
    t.ok(where.has(place), `${place} has examples`)
  }
  for (const check of checks) {
    const validate = ajv.getSchema(`${DOCUMENT_ID}#${check.schemaPointer}`)
    if (!validate) throw new Error(`no schema at ${check.schemaPointer}`)
    t.ok(validate(check.value), check.where, { errors: validate.errors })
  }
})

t.test('the examples are true: the API answers the example requests with the example responses', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer({ sub: 'local-admin', client_id: 'local-admin' })
  const serverSet = ['id', 'createdAt', 'updatedAt', 'statusChangedAt', 'dueAt']
  const withoutServerSet = (record: Record<string, unknown>) => Object.fromEntries(Object.entries(record).filter(([key]) => !serverSet.includes(key)))

  const created = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: createRecordRequests.cvssScored.value })
  t.equal(created.statusCode, 201)
  t.equal(created.headers.etag, '"1"')
  t.same(withoutServerSet(created.json()), withoutServerSet(createdRecord), 'the documented 201 body, but for id and times')
  const id = created.json().id as string

  const other = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: createRecordRequests.misconfiguration.value })
  t.equal(other.statusCode, 201, 'the second create example is accepted too')

  // "Try it out" twice: no example carries what must be unique (a fingerprint), so each creates another record.
  for (const [name, example] of Object.entries(createRecordRequests)) {
    const again = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: example.value })
    t.equal(again.statusCode, 201, `the ${name} create example can be sent again`)
  }

  const triaged = await api.app.inject({
    method: 'PATCH', url: `/v1/records/${id}`,
    headers: { authorization, 'content-type': 'application/merge-patch+json', 'if-match': '"1"' },
    payload: JSON.stringify(updateRecordRequests.triage.value)
  })
  t.equal(triaged.statusCode, 200)
  t.same(withoutServerSet(triaged.json()), withoutServerSet(triagedRecord), 'the documented 200 body after the triage patch')

  const history = await api.app.inject({ method: 'GET', url: `/v1/records/${id}/history`, headers: { authorization } })
  t.equal(history.statusCode, 200)
  // Ids, times and the deadline (counted from the creation time) differ; everything else is as documented.
  const comparable = (page: typeof historyPage) => page.items.map(({ recordId, at, requestId, ...entry }) => ({ ...entry, changes: entry.changes.filter((change) => change.path !== '/dueAt') }))
  t.same(comparable(history.json()), comparable(historyPage), 'the documented history, but for ids and times')

  for (const [name, example] of Object.entries(updateRecordRequests)) {
    const target = await api.create(createRecordRequests.misconfiguration.value)
    const response = await api.app.inject({
      method: 'PATCH', url: `/v1/records/${target.id}`,
      headers: { authorization, 'content-type': 'application/merge-patch+json', 'if-match': target.etag },
      payload: JSON.stringify(example.value)
    })
    t.equal(response.statusCode, 200, `the ${name} patch example applies to a new record`)
  }
})
