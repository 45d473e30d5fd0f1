import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import { loggerOptions } from '../../../shared/app.ts'
import { assertProblem, buildHardenedApi, startControlledStore } from '../resilience/harness.ts'
import { INTERNALS } from '../resilience/store-faults.ts'
import { crashStoreWrites } from '../../support/store.ts'
import { rawRequest } from './raw-http.ts'

/** The API's security headers, on successes and problems alike, written out here rather than imported: the test is their second opinion. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0'
}

t.test('every answer carries the API security headers, no X-Powered-By, and Cache-Control: no-store', async (t) => {
  const api = await buildHardenedApi(t)
  const authorization = await api.bearer()
  const created = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: { title: 'x', category: 'other', severity: 'low', asset: { name: 'x', type: 'service' } } })
  const id = created.json().id
  const responses = {
    'POST 201': created,
    'GET 200': await api.app.inject({ method: 'GET', url: `/v1/records/${id}`, headers: { authorization } }),
    'GET 304': await api.app.inject({ method: 'GET', url: `/v1/records/${id}`, headers: { authorization, 'if-none-match': '"1"' } }),
    'list 200': await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } }),
    'history 200': await api.app.inject({ method: 'GET', url: `/v1/records/${id}/history`, headers: { authorization } }),
    'PATCH 200': await api.app.inject({ method: 'PATCH', url: `/v1/records/${id}`, headers: { authorization, 'if-match': '"1"' }, payload: { assignee: 'a' } }),
    'PATCH 412': await api.app.inject({ method: 'PATCH', url: `/v1/records/${id}`, headers: { authorization, 'if-match': '"1"' }, payload: { assignee: 'b' } }),
    'GET 401': await api.app.inject({ method: 'GET', url: `/v1/records/${id}` }),
    'GET 400': await api.app.inject({ method: 'GET', url: '/v1/records?limit=0', headers: { authorization } }),
    'GET 404 route': await api.app.inject({ method: 'GET', url: '/nowhere' }),
    'DELETE 204': await api.app.inject({ method: 'DELETE', url: `/v1/records/${id}`, headers: { authorization } }),
    'GET 404 record': await api.app.inject({ method: 'GET', url: `/v1/records/${id}`, headers: { authorization } })
  }
  for (const [name, response] of Object.entries(responses)) {
    t.match(response.headers, SECURITY_HEADERS, `${name}: security headers`)
    t.equal(response.headers['cache-control'], 'no-store', `${name}: Cache-Control: no-store`)
    t.notOk('x-powered-by' in response.headers, `${name}: no X-Powered-By`)
    t.notOk('server' in response.headers, `${name}: no Server header`)
  }
  const badPath = await api.app.inject({ method: 'GET', url: '/v1/records/%zz' })
  t.match(badPath.headers, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }, 'a path the router cannot decode: no-store and nosniff too')
})

t.test('logs never hold an access token, Authorization header, Idempotency-Key or client secret, even at trace level', async (t) => {
  let logs = ''
  const stream = new Writable({ write (chunk, _encoding, callback) { logs += String(chunk); callback() } })
  let failNextWrite = false
  const api = await buildHardenedApi(t, { logger: { ...(loggerOptions('trace') as object), stream } })
  crashStoreWrites(api.store, 'record', () => {
    if (!failNextWrite) return undefined
    failNextWrite = false
    return new Error('internal detail: table security-records, partition T#acme, see /srv/app/shared/records.ts:42')
  })
  const token = await api.bearer({ client_id: 'leaky-client' })
  const rawToken = token.slice('Bearer '.length)
  const signature = rawToken.split('.')[2]!
  const idempotencyKey = 'idem-7f3c-very-private-key'
  const clientSecret = 'local-admin-secret-must-not-leak'
  const body = { title: 'x', category: 'other', severity: 'low', asset: { name: 'x', type: 'service' } }

  await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: token, 'idempotency-key': idempotencyKey }, payload: body })
  await api.app.inject({ method: 'GET', url: `/v1/records?access_token=${rawToken}`, headers: { authorization: token } })
  await api.app.inject({ method: 'GET', url: `/v1/records?client_secret=${clientSecret}&token=${rawToken}` })
  await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: token }, payload: { ...body, client_secret: clientSecret } })
  await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${rawToken.slice(0, -2)}xx` } })
  failNextWrite = true
  const crashed = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: token, 'idempotency-key': `${idempotencyKey}-2` }, payload: body })
  assertProblem(t, crashed, 500, 'an unexpected error is a 500 problem')
  t.notMatch(crashed.body, /internal detail|table security-records|T#acme|records\.ts|Error:|\bat /, 'whose body holds neither the message nor a stack')
  t.match(crashed.json().detail, /quote request id/, 'but the request id to quote')

  // A request Node's parser refuses: its error carries the raw bytes, Authorization included.
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  await rawRequest((api.app.server.address() as AddressInfo).port, `GET /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nIdempotency-Key: ${idempotencyKey}\r\nX-Bad\u0001: y\r\n\r\n`)

  t.ok(logs.length > 1000, `something was logged (${logs.length} bytes at trace level)`)
  t.match(logs, /internal detail/, 'the 500\'s cause is in the log, for whoever investigates')
  for (const [name, secret] of [['the token', rawToken], ['its signature', signature], ['an Idempotency-Key', idempotencyKey], ['a client secret', clientSecret], ['a Bearer header', 'Bearer ey']] as const) {
    t.notOk(logs.includes(secret), `${name} is not in the logs`)
  }
})

t.test('503 bodies hold no SDK or transport details', async (t) => {
  const controlled = await startControlledStore(t)
  const api = await buildHardenedApi(t, { store: controlled.client({ timeoutMs: 500, maxAttempts: 2 }) })
  const authorization = await api.bearer()
  await controlled.stop()
  for (const url of ['/healthz', '/v1/records']) {
    const response = await api.app.inject({ method: 'GET', url, headers: { authorization } })
    assertProblem(t, response, 503, url)
    t.notMatch(response.body, INTERNALS, `${url}: no internals`)
    t.same(Object.keys(response.json()).sort(), ['detail', 'instance', 'requestId', 'status', 'title', 'type'], `${url}: only the problem members`)
  }
})
