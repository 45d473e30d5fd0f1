import t from 'tap'
import type { FastifyPluginAsync } from 'fastify'
import ingestFindingRoute from '../../../functions/ingest-finding/route.ts'
import type { RouteDeps } from '../../../shared/app.ts'
import { aRecord, allRecordRoutes, buildRecordsApi, type RecordsApiHarness } from '../../support/records-api.ts'

/**
 * The audit trail names requests by the server's ids. Before, a client's `X-Request-Id` and a
 * finding's `ce-id` (15 000 characters) were stored in history as the change's request id, as given.
 */

const routes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  await app.register(allRecordRoutes, deps)
  await app.register(ingestFindingRoute, deps)
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

async function history (api: RecordsApiHarness, id: string) {
  return (await api.app.inject({ url: `/v1/records/${id}/history`, headers: { authorization: await api.bearer() } })).json().items as Array<Record<string, unknown>>
}

function reportFinding (api: RecordsApiHarness, authorization: string, ceId: string, fingerprint: string) {
  return api.app.inject({
    method: 'POST',
    url: '/events/findings',
    headers: { authorization, 'ce-specversion': '1.0', 'ce-id': ceId, 'ce-source': '/scanners/trivy', 'ce-type': 'com.mediamarktsaturn.security.finding.reported', 'content-type': 'application/json' },
    payload: JSON.stringify(aRecord({ fingerprint }))
  })
}

t.test('a client\'s X-Request-Id is never the request id: history records the server\'s, and keeps the client\'s beside it only when it is 8–128 plain characters', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const authorization = await api.bearer()
  const cases: Array<[string, string, string | undefined]> = [
    ['a plain id', 'build-4711-step-2', 'build-4711-step-2'],
    ['another request\'s id', 'build-4711-step-2', 'build-4711-step-2'],
    ['an id of 200 characters', 'x'.repeat(200), undefined],
    ['an id with other characters', 'evil id <script>', undefined]
  ]
  const seen = new Set<string>()
  for (const [name, sent, kept] of cases) {
    const created = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'x-request-id': sent }, payload: aRecord({ title: name }) })
    t.equal(created.statusCode, 201, name)
    const answered = String(created.headers['x-request-id'])
    t.match(answered, UUID, `${name}: the answer names a request id of the server's`)
    t.notOk(seen.has(answered), `${name}: one of its own, even when a client reuses its id`)
    seen.add(answered)
    const [entry] = await history(api, created.json().id)
    t.equal(entry!.requestId, answered, `${name}: history records the server's id`)
    t.equal(entry!.clientRequestId, kept, `${name}: and the client's ${kept === undefined ? 'not at all' : 'beside it'}`)
  }
})

t.test('a finding\'s ce-id is kept beside the server\'s id; one over 128 characters is a 400 and nothing is written', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const authorization = await api.bearer()
  const reported = await reportFinding(api, authorization, 'scan-2026-12-06', 'trivy:x:CVE-2024-1')
  t.equal(reported.statusCode, 200)
  const [entry] = await history(api, reported.json().id)
  t.match(entry, { requestId: reported.headers['x-request-id'], clientRequestId: 'scan-2026-12-06' })
  t.match(entry!.requestId, UUID)

  const huge = await reportFinding(api, authorization, 'c'.repeat(15_000), 'trivy:x:CVE-2024-2')
  t.equal(huge.statusCode, 400)
  t.match(huge.json(), { status: 400, errors: [{ path: '/id', message: /at most 128 characters/ }] })
  const listed = (await api.app.inject({ url: '/v1/records', headers: { authorization } })).json().items as Array<{ fingerprint?: string }>
  t.same(listed.map((record) => record.fingerprint), ['trivy:x:CVE-2024-1'], 'nothing written for it')
})
