import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { Store } from '../../../shared/store/client.ts'
import { aRecord, buildHardenedApi, problemViolation, settledStore, snapshotTable } from '../resilience/harness.ts'
import { startGatewayTarget } from './gateway-target.ts'
import { rawRequest } from './raw-http.ts'

/**
 * Requests no HTTP client library would send, written byte for byte to a real server: invalid
 * UTF-8 and bad percent-encoding, oversized headers and request targets, broken request lines,
 * smuggling attempts. Each gets a 4xx problem+json; the server keeps serving; nothing is stored.
 */
t.test('byte-level hostile requests to a function: 4xx problem+json each, the server keeps serving, nothing stored', async (t) => {
  const api = await buildHardenedApi(t)
  const record = await api.create()
  await api.settled()
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  await byteLevelRequests(t, { port: (api.app.server.address() as AddressInfo).port, token: await api.bearer(), recordId: record.id, store: api.store })
})

t.test('the same through the gateway of a started stack: its answers, or the function\'s, are the same 4xx problems', async (t) => {
  const target = await startGatewayTarget(t)
  const token = await target.bearer()
  const created = await target.send({ method: 'POST', url: '/v1/records', headers: { authorization: token, 'content-type': 'application/json' }, payload: JSON.stringify(aRecord()) })
  await byteLevelRequests(t, { port: target.port, token, recordId: JSON.parse(created.body).id, store: target.store })
})

async function byteLevelRequests (t: Test, { port, token, recordId, store }: { port: number, token: string, recordId: string, store: Store }) {
  const record = { id: recordId }
  await settledStore(store)
  const before = await snapshotTable(store)
  const get = (target: Buffer | string, extra = '') => Buffer.concat([Buffer.from('GET '), Buffer.from(target as string, typeof target === 'string' ? 'latin1' : undefined), Buffer.from(` HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${token}\r\n${extra}Connection: close\r\n\r\n`)])
  const validJson = JSON.stringify({ title: 'x', category: 'other', severity: 'low', asset: { name: 'x', type: 'service' } })
  const post = (contentType: string, body: Buffer, extraHeaders = '') => Buffer.concat([Buffer.from(`POST /v1/records HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${token}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n${extraHeaders}Connection: close\r\n\r\n`), body])
  const invalidUtf8Body = Buffer.concat([Buffer.from(validJson.slice(0, 10)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(validJson.slice(10))])

  const cases: Array<[string, Buffer | string, number]> = [
    ['raw invalid UTF-8 bytes in the path', get(Buffer.from([...Buffer.from('/v1/records/'), 0xff, 0xfe, 0xc3, 0x28])), 400],
    ['raw invalid UTF-8 bytes in the query', get(Buffer.from([...Buffer.from('/v1/records?asset='), 0xc3, 0x28])), 400],
    ['raw UTF-8 (not percent-encoded) in the query', get(Buffer.from('/v1/records?asset=ü', 'utf8')), 400],
    ['bad percent-encoding in the path', get('/v1/records/%zz'), 400],
    ['percent-encoded invalid UTF-8 in the path', get('/v1/records/%C3%28'), 400],
    ['bad percent-encoding in the query', get('/v1/records?asset=%zz'), 400],
    ['percent-encoded invalid UTF-8 in the query', get('/v1/records?asset=%ED%A0%80'), 400],
    ['a request target over 4096 characters', get(`/v1/records?asset=${'a'.repeat(5000)}`), 414],
    ['a path segment over 200 characters', get(`/v1/records/${'a'.repeat(300)}`), 414],
    ['a request target over the 16 KiB header limit', get(`/v1/records?asset=${'a'.repeat(20_000)}`), 431],
    ['headers over the 16 KiB limit', get(`/v1/records/${record.id}`, `X-Filler: ${'f'.repeat(20_000)}\r\n`), 431],
    ['many headers over the limit', get(`/v1/records/${record.id}`, Array.from({ length: 600 }, (_, i) => `X-H${i}: ${'v'.repeat(30)}\r\n`).join('')), 431],
    ['a broken request line', 'HELLO\r\n\r\n', 400],
    ['a request line without a version, and no token', 'GET /v1/records\r\nHost: x\r\n\r\n', 401],
    ['a control character in a header name', get('/v1/records', 'X-Bad\u0001Name: a\r\n'), 400],
    ['a NUL in a header value', get('/v1/records', 'X-Bad: a\u0000b\r\n'), 400],
    ['Content-Length and Transfer-Encoding together (smuggling)', `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/records HTTP/1.1\r\n\r\n`, 400],
    ['two Content-Length headers', `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}`, 400],
    ['a body shorter than its Content-Length, then the end', Buffer.concat([Buffer.from(`POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n`), Buffer.from(validJson.slice(0, 20))]), 400],
    ['an invalid UTF-8 JSON body', post('application/json', invalidUtf8Body), 400],
    ['an invalid UTF-8 body of a type nobody parses', post('text/plain', invalidUtf8Body), 415],
    ['an invalid UTF-8 body in chunks', Buffer.concat([Buffer.from(`POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`),
      Buffer.from(`${(11).toString(16)}\r\n`), invalidUtf8Body.subarray(0, 11), Buffer.from('\r\n'), Buffer.from(`${(invalidUtf8Body.length - 11).toString(16)}\r\n`), invalidUtf8Body.subarray(11), Buffer.from('\r\n0\r\n\r\n')]), 400],
    ['a body over 256 KiB announced by Content-Length', Buffer.from(`POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"title":"`), 413]
  ]
  for (const [name, request, status] of cases) {
    // The short body waits for the rest; ending our side makes the server see it is all there is.
    const response = await rawRequest(port, request, name.startsWith('a body shorter') ? { endAfterMs: 200 } : {})
    t.equal(problemViolation(response.status, response.headers, response.body, { min: status, max: status }), undefined, `${name}: ${status} problem+json (got ${response.status} ${response.body.slice(0, 120)})`)
    t.ok(response.elapsedMs < 5000, `${name}: answered in ${Math.round(response.elapsedMs)} ms`)
  }

  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(health.status, 200, 'the server still serves')
  t.same(await snapshotTable(store), before, 'nothing was stored')
}
