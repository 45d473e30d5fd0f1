/**
 * Two findings of an outside security test, through HTTP: every JSON body is strict JSON (I-JSON,
 * RFC 7493) and an altered spelling of a cursor is a 400 — each a problem+json,
 * nothing stored.
 */
import t, { type Test } from 'tap'
import type { FastifyPluginAsync } from 'fastify'
import ingestFindingRoute from '../../../functions/ingest-finding/route.ts'
import type { RouteDeps } from '../../../shared/app.ts'
import { aRecord, allRecordRoutes, buildRecordsApi, type RecordsApiHarness } from '../../support/records-api.ts'

const routes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  await app.register(allRecordRoutes, deps)
  await app.register(ingestFindingRoute, deps)
}

/** Loose bodies, each with what it must be answered with. Strings are raw JSON text. */
const createBody = JSON.stringify(aRecord())
const looseBodies: Array<{ name: string, text: string, status: number, type: RegExp, path?: string }> = [
  { name: 'duplicate member name', text: createBody.replace('"severity":"critical"', '"severity":"critical","severity":"info"'), status: 400, type: /invalid-json$/, path: '/severity' },
  { name: 'duplicate member name in a nested object', text: createBody.replace('"type":"service"', '"type":"service","name":"other-asset"'), status: 400, type: /invalid-json$/, path: '/asset/name' },
  { name: 'NUL character', text: createBody.replace('xz backdoor', 'xz\\u0000backdoor'), status: 400, type: /invalid-json$/, path: '/title' },
  { name: 'lone surrogate', text: createBody.replace('xz backdoor', 'xz\\ud800backdoor'), status: 400, type: /invalid-json$/, path: '/title' }
]

async function records (api: RecordsApiHarness) {
  return (await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer() } })).json().items as Array<Record<string, unknown>>
}

function assertProblem (t: Test, response: { statusCode: number, headers: Record<string, unknown>, json (): any }, expected: { status: number, type: RegExp, path?: string }, name: string) {
  t.equal(response.statusCode, expected.status, `${name}: status`)
  t.match(response.headers['content-type'], /^application\/problem\+json/, `${name}: problem+json`)
  t.match(response.json().type, expected.type, `${name}: problem type`)
  if (expected.path) t.match(response.json().errors, [{ path: expected.path }], `${name}: names the offending member`)
}

t.test('create: duplicate member names, NUL and lone surrogates are 400, a charset other than utf-8 is 415; nothing is stored', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const authorization = await api.bearer()
  for (const body of looseBodies) {
    const response = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'content-type': 'application/json' }, payload: body.text })
    assertProblem(t, response, body, body.name)
  }
  for (const charset of ['latin1', 'iso-8859-1', 'utf-16']) {
    const response = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'content-type': `application/json; charset=${charset}` }, payload: createBody })
    assertProblem(t, response, { status: 415, type: /unsupported-media-type$/ }, `charset=${charset}`)
  }
  t.same(await records(api), [], 'nothing was stored')

  const accepted = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'content-type': 'application/json; charset=UTF-8' }, payload: createBody })
  t.equal(accepted.statusCode, 201, 'charset=UTF-8 is fine')
})

t.test('update: merge patches and JSON patches are parsed just as strictly', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const record = await api.create()
  const authorization = await api.bearer()
  for (const contentType of ['application/merge-patch+json', 'application/json']) {
    const cases = [
      { name: 'duplicate member name', text: '{"severity":"low","severity":"info"}', status: 400, type: /invalid-json$/, path: '/severity' },
      { name: 'NUL character', text: '{"assignee":"a\\u0000b"}', status: 400, type: /invalid-json$/, path: '/assignee' },
      { name: 'lone surrogate', text: '{"assignee":"\\udfff"}', status: 400, type: /invalid-json$/, path: '/assignee' }
    ]
    for (const body of cases) {
      const response = await api.app.inject({ method: 'PATCH', url: `/v1/records/${record.id}`, headers: { authorization, 'if-match': record.etag, 'content-type': contentType }, payload: body.text })
      assertProblem(t, response, body, `${contentType}: ${body.name}`)
    }
    const latin1 = await api.app.inject({ method: 'PATCH', url: `/v1/records/${record.id}`, headers: { authorization, 'if-match': record.etag, 'content-type': `${contentType}; charset=latin1` }, payload: '{"assignee":"x"}' })
    assertProblem(t, latin1, { status: 415, type: /unsupported-media-type$/ }, `${contentType}: charset=latin1`)
  }
  const stored = (await api.app.inject({ method: 'GET', url: `/v1/records/${record.id}`, headers: { authorization } })).json()
  t.equal(stored.version, 1, 'the record never changed')
})

t.test('list: a cursor spelled differently (unused bits changed, padding, the +/ alphabet) is a 400', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const authorization = await api.bearer()
  for (let index = 0; index < 3; index++) await api.create(aRecord({ title: `record ${index}` }))
  const first = (await api.app.inject({ method: 'GET', url: '/v1/records?limit=1', headers: { authorization } })).json()
  const cursor = first.nextCursor as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(cursor.at(-1)!)
  const spellings = [
    `${cursor.slice(0, -1)}${alphabet[(last & ~3) | ((last + 1) & 3)]}`,
    `${cursor}%3D`,
    cursor.replace('.', '%3D%3D.'),
    cursor.replaceAll('-', '%2B').replaceAll('_', '%2F')
  ].filter((spelling) => spelling !== cursor)
  for (const spelling of spellings) {
    const response = await api.app.inject({ method: 'GET', url: `/v1/records?limit=1&cursor=${spelling}`, headers: { authorization } })
    assertProblem(t, response, { status: 400, type: /invalid-cursor$/ }, spelling)
  }
  const genuine = await api.app.inject({ method: 'GET', url: `/v1/records?limit=1&cursor=${cursor}`, headers: { authorization } })
  t.equal(genuine.statusCode, 200, 'the cursor as issued still works')
})
