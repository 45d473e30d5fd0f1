import type { AddressInfo } from 'node:net'
import t from 'tap'
import { BODY_LIMIT_BYTES } from '../../../shared/app.ts'
import { ConfigError, loadConfig } from '../../../shared/config.ts'
import { MAX_URL_LENGTH } from '../../../shared/http/request-limits.ts'
import { aRecord, assertProblem, buildHardenedApi, storedRecords } from '../resilience/harness.ts'
import { rawRequest } from './raw-http.ts'

t.test('a body over 256 KiB is a 413 problem and stores nothing; one just below the limit is read', async (t) => {
  const api = await buildHardenedApi(t)
  const authorization = await api.bearer()
  const padded = (size: number) => {
    const body = JSON.stringify(aRecord({ description: '' }))
    return body.replace('"description":""', `"description":"${'d'.repeat(size - body.length)}"`)
  }
  const over = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'content-type': 'application/json' }, payload: padded(BODY_LIMIT_BYTES + 1) })
  assertProblem(t, over, 413)
  const atLimit = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'content-type': 'application/json' }, payload: padded(BODY_LIMIT_BYTES) })
  assertProblem(t, atLimit, 400, 'a body of exactly the limit is parsed (and its 250 KB description refused by the schema)')
  t.match(atLimit.json().errors, [{ path: '/description' }])
  t.same(await storedRecords(api.store), [])
})

t.test('a request target over 4096 characters is a 414 problem; one of 4096 is served', async (t) => {
  const api = await buildHardenedApi(t)
  const authorization = await api.bearer()
  const target = (length: number) => `/v1/records?vulnerabilityId=${'V'.repeat(length - '/v1/records?vulnerabilityId='.length)}`
  assertProblem(t, await api.app.inject({ method: 'GET', url: target(MAX_URL_LENGTH + 1), headers: { authorization } }), 414)
  assertProblem(t, await api.app.inject({ method: 'GET', url: target(MAX_URL_LENGTH), headers: { authorization } }), 400, 'at the limit the query is validated (the id is too long)')
  assertProblem(t, await api.app.inject({ method: 'GET', url: `/v1/records/${'a'.repeat(201)}`, headers: { authorization } }), 414, 'a path parameter over 200 characters')
})

t.test('page sizes are capped at 100 for lists and history; arrays at their schema maximum', async (t) => {
  const api = await buildHardenedApi(t)
  const authorization = await api.bearer()
  const record = await api.create()
  for (const url of ['/v1/records?limit=100', `/v1/records/${record.id}/history?limit=100`]) {
    t.equal((await api.app.inject({ method: 'GET', url, headers: { authorization } })).statusCode, 200, url)
  }
  for (const url of ['/v1/records?limit=101', '/v1/records?limit=0', '/v1/records?limit=1000000', `/v1/records/${record.id}/history?limit=101`]) {
    const response = await api.app.inject({ method: 'GET', url, headers: { authorization } })
    assertProblem(t, response, 400, url)
    t.match(response.json().errors, [{ path: '/limit' }])
  }
  const arrays: Array<[string, unknown[]]> = [
    ['tags', Array.from({ length: 21 }, (_, i) => `tag-${i}`)],
    ['vulnerabilityIds', Array.from({ length: 51 }, (_, i) => `CVE-2024-${1000 + i}`)],
    ['cweIds', Array.from({ length: 21 }, (_, i) => `CWE-${i + 1}`)],
    ['references', Array.from({ length: 51 }, (_, i) => `https://example.com/${i}`)]
  ]
  for (const [field, values] of arrays) {
    const tooMany = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: aRecord({ [field]: values }) })
    assertProblem(t, tooMany, 400, `${values.length} ${field}`)
    t.match(tooMany.json().errors, [{ path: `/${field}` }])
    const justEnough = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: aRecord({ [field]: values.slice(0, -1) }) })
    t.equal(justEnough.statusCode, 201, `${values.length - 1} ${field} are accepted`)
  }
})

t.test('rate limiting: per client_id, 429 problem+json with Retry-After, checked after the token and before the body', async (t) => {
  const api = await buildHardenedApi(t, { config: { RATE_LIMIT: 'on', RATE_LIMIT_MAX: 5 } })
  const record = await api.create({ ...aRecord(), title: 'rate limited' }, { client_id: 'set-up' })
  const get = (authorization: string) => api.app.inject({ method: 'GET', url: `/v1/records/${record.id}`, headers: { authorization } })

  const scanner = await api.bearer({ client_id: 'noisy-scanner' })
  const allowed = []
  for (let i = 0; i < 5; i++) allowed.push(await get(scanner))
  t.same(allowed.map((response) => response.statusCode), [200, 200, 200, 200, 200])
  t.equal(allowed[0]!.headers['ratelimit-limit'], '5', 'the budget is announced')
  t.equal(allowed[4]!.headers['ratelimit-remaining'], '0')

  const limited = await get(scanner)
  assertProblem(t, limited, 429)
  t.match(limited.json(), { title: 'Too many requests', type: /rate-limited$/ })
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter} s`)

  t.equal((await get(await api.bearer({ client_id: 'noisy-scanner' }))).statusCode, 429, 'a fresh token of the same client shares its budget')
  t.equal((await get(await api.bearer({ client_id: 'noisy-scanner', tenant: 'other' }))).statusCode, 429, 'the budget is the client\'s, whatever the token says about the tenant')
  t.equal((await get(await api.bearer({ client_id: 'quiet-console' }))).statusCode, 200, 'another client is not affected')
  const notJson = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: scanner, 'content-type': 'application/json' }, payload: '{not json' })
  t.equal(notJson.statusCode, 429, 'a limited client\'s body is not even parsed')
  const anonymous = await api.app.inject({ method: 'GET', url: `/v1/records/${record.id}` })
  assertProblem(t, anonymous, 401, 'requests without a valid token are refused by the token check, not counted')
  for (let i = 0; i < 10; i++) t.equal((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health probes are never limited')
})

t.test('RATE_LIMIT=off lifts the limit (benchmarks, load tests); the configuration defaults to on, 1200 per minute', async (t) => {
  const api = await buildHardenedApi(t, { config: { RATE_LIMIT: 'off', RATE_LIMIT_MAX: 2 } })
  const authorization = await api.bearer()
  const statuses = []
  for (let i = 0; i < 10; i++) statuses.push((await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })).statusCode)
  t.same(new Set(statuses), new Set([200]))

  const required = { AUTH_ISSUER: 'https://issuer.example', AUTH_JWKS_URL: 'https://issuer.example/jwks', CURSOR_SECRET: 'x'.repeat(32) }
  t.match(loadConfig(required), { RATE_LIMIT: 'on', RATE_LIMIT_MAX: 1200, REQUEST_TIMEOUT_MS: 30_000 })
  t.match(loadConfig({ ...required, RATE_LIMIT: 'off', RATE_LIMIT_MAX: '50' }), { RATE_LIMIT: 'off', RATE_LIMIT_MAX: 50 })
  t.throws(() => loadConfig({ ...required, RATE_LIMIT: 'maybe' }), ConfigError)
  t.throws(() => loadConfig({ ...required, RATE_LIMIT_MAX: '0' }), ConfigError)
})

t.test('a client that sends its request too slowly gets a 408 problem after REQUEST_TIMEOUT_MS and is disconnected', async (t) => {
  const api = await buildHardenedApi(t, { config: { REQUEST_TIMEOUT_MS: 1000 } })
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (api.app.server.address() as AddressInfo).port
  const slowHeaders = await rawRequest(port, 'GET /v1/records HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  const slowBody = await rawRequest(port, `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: ${await api.bearer()}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title":`)
  for (const [name, response] of [['headers never finished', slowHeaders], ['body never finished', slowBody]] as const) {
    t.equal(response.status, 408, `${name}: 408`)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(JSON.parse(response.body), { status: 408, title: 'Request timeout' })
    t.ok(response.elapsedMs >= 900 && response.elapsedMs < 5000, `${name}: cut off after ${Math.round(response.elapsedMs)} ms`)
  }
})
