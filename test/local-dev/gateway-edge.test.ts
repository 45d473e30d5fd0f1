import { Agent, request, type IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import { startLocalStack } from '../../local-dev/stack.ts'
import { problemViolation } from '../system/resilience/harness.ts'
import { rawRequest, type RawResponse } from '../system/hostile/raw-http.ts'

/**
 * The gateway of `npm start` through real sockets, as a client of the cluster ingress meets it
 * as the README's local stack promises: bodies the function refuses before reading them, `Expect: 100-continue`, and the
 * problem+json and security headers of every answer the gateway, mock-auth or a function produces.
 */

const API_HEADERS = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains'
}
const record = { title: 'Exposed admin port', category: 'misconfiguration', severity: 'high', asset: { name: 'edge-lb', type: 'network' } }
/** A record whose description alone is 400 000 characters: over the functions' 256 KiB body limit. */
const OVERSIZED = Buffer.from(JSON.stringify({ ...record, description: 'A'.repeat(400_000) }))
/** Generous: the answers take milliseconds, but other suites share the machine. */
const ANSWER_WITHIN_MS = 5000

const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
t.teardown(() => stack.close())
const port = Number(new URL(stack.url).port)
const token = await (async () => {
  const response = await fetch(`${stack.url}/oauth2/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
  return (await response.json() as { access_token: string }).access_token
})()

/** One HTTP/1.1 request written byte for byte on its own connection. */
function post (path: string, headers: Record<string, string>, body: Buffer): Promise<RawResponse> {
  const head = Object.entries({ host: `127.0.0.1:${port}`, authorization: `Bearer ${token}`, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  return rawRequest(port, Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\n${head}\r\n`), body]), { timeoutMs: ANSWER_WITHIN_MS * 2 })
}

function chunked (body: Buffer): Buffer {
  const chunks: Buffer[] = []
  for (let offset = 0; offset < body.length; offset += 64 * 1024) {
    const chunk = body.subarray(offset, offset + 64 * 1024)
    chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'))
  }
  return Buffer.concat([...chunks, Buffer.from('0\r\n\r\n')])
}

function assertProblemAnswer (t: Test, response: RawResponse, status: number, name: string) {
  t.equal(problemViolation(response.status, response.headers, response.body, { min: status, max: status }), undefined, `${name}: ${status} problem+json (got ${response.status} ${response.body.slice(0, 100)})`)
  t.match(response.headers, API_HEADERS, `${name}: the API's security headers`)
  t.ok(response.elapsedMs < ANSWER_WITHIN_MS, `${name}: answered in ${Math.round(response.elapsedMs)} ms`)
}

t.test('an oversized body through the gateway gets the function\'s 413 problem, never a 502 or a hang', async (t) => {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const response = await post('/v1/records', { 'content-type': 'application/json', 'content-length': String(OVERSIZED.length) }, OVERSIZED)
    assertProblemAnswer(t, response, 413, `~400 KB JSON, attempt ${attempt}`)
  }
  const streamed = await post('/v1/records', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunked(OVERSIZED))
  assertProblemAnswer(t, streamed, 413, '~400 KB JSON in chunks (no Content-Length)')

  // The token endpoint answers in RFC 6749 §5.2's JSON, not problem+json; what matters is that it arrives.
  const form = Buffer.from(`grant_type=client_credentials&padding=${'a'.repeat(300_000)}`)
  const oauth = await post('/oauth2/token', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(form.length) }, form)
  t.equal(oauth.status, 413, `an oversized token request: mock-auth's 413 (got ${oauth.status} ${oauth.body.slice(0, 100)})`)
  t.match(JSON.parse(oauth.body), { error: 'invalid_request' }, 'in its own words')
})

t.test('an oversized body of a type the function does not take gets its 415 problem, never a 502 or a hang', async (t) => {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const response = await post('/v1/records', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(OVERSIZED.length) }, OVERSIZED)
    assertProblemAnswer(t, response, 415, `~400 KB form body, attempt ${attempt}`)
  }
})

t.test('a client that keeps its connection open gets every early answer, and the connection stays usable', async (t) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const send = (headers: Record<string, string>, body: Buffer) => new Promise<{ status: number, body: string }>((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/records', agent, headers: { authorization: `Bearer ${token}`, ...headers } }, (response: IncomingMessage) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { text += chunk }).on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
  const statuses: number[] = []
  for (const contentType of ['application/json', 'application/x-www-form-urlencoded', 'application/json']) {
    statuses.push((await send({ 'content-type': contentType }, OVERSIZED)).status)
  }
  statuses.push((await send({ 'content-type': 'application/json' }, Buffer.from(JSON.stringify(record)))).status)
  t.same(statuses, [413, 415, 413, 201], 'each answer on one kept-alive connection, then a good request still works')
})

t.test('Expect: 100-continue works through the gateway', async (t) => {
  const send = (body: Buffer) => new Promise<{ status: number, body: string, continued: boolean }>((resolve, reject) => {
    let continued = false
    const outgoing = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/records', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' } }, (response: IncomingMessage) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { text += chunk }).on('end', () => resolve({ status: response.statusCode ?? 0, body: text, continued }))
    })
    // The body only after the server said 100 Continue, as curl does.
    outgoing.on('continue', () => { continued = true; outgoing.end(body) })
    outgoing.on('error', reject)
    outgoing.flushHeaders()
  })
  const created = await send(Buffer.from(JSON.stringify({ ...record, title: 'sent after 100 Continue' })))
  t.equal(created.status, 201, `a record created (got ${created.status} ${created.body.slice(0, 100)})`)
  t.ok(created.continued, 'the client got 100 Continue before sending the body')
  t.equal(JSON.parse(created.body).title, 'sent after 100 Continue')
  const tooLarge = await send(OVERSIZED)
  t.equal(tooLarge.status, 413, 'an oversized body after 100 Continue: the function\'s 413')

  const unknown = await rawRequest(port, `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: something-else\r\nConnection: close\r\n\r\n{}`)
  assertProblemAnswer(t, unknown, 417, 'an expectation nobody can meet')
})

t.test('every answer the gateway, mock-auth or a function produces carries the API\'s headers; errors are problem+json', async (t) => {
  const get = (path: string, extra = '') => rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`)
  const bearer = `Authorization: Bearer ${token}\r\n`
  const problems: Array<[string, Promise<RawResponse>, number]> = [
    ['POST /v1/records/%ZZ', rawRequest(port, `POST /v1/records/%ZZ HTTP/1.1\r\nHost: x\r\n${bearer}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`), 400],
    ['PATCH with a 3000-character id', rawRequest(port, `PATCH /v1/records/${'a'.repeat(3000)} HTTP/1.1\r\nHost: x\r\n${bearer}Content-Type: application/merge-patch+json\r\nIf-Match: "1"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`), 414],
    ['the gateway\'s 401', get('/v1/records'), 401],
    ['the gateway\'s 404', get('/nowhere'), 404],
    ['a method the path lacks', rawRequest(port, 'PUT /v1/records HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'), 405],
    ['a method on a path no route has', rawRequest(port, 'PUT /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'), 404],
    ['a function\'s 404', get(`/v1/records/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`, bearer), 404],
    ['a function\'s 400', get('/v1/records?limit=0', bearer), 400],
    ['mock-auth\'s 404', get('/oauth2/nothing'), 404],
    ['a broken request line', rawRequest(port, 'HELLO\r\n\r\n'), 400]
  ]
  for (const [name, answer, status] of problems) assertProblemAnswer(t, await answer, status, name)

  for (const path of ['/healthz', '/openapi.json', '/.well-known/oauth-authorization-server', '/oauth2/jwks']) {
    const response = await get(path)
    t.equal(response.status, 200, `${path}: 200`)
    t.match(response.headers, { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'content-security-policy': API_HEADERS['content-security-policy'] }, `${path}: the API's security headers`)
  }
  const docs = await get('/docs/')
  t.equal(docs.status, 200, '/docs: 200')
  t.match(docs.headers['content-type'], /^text\/html/, '/docs is a page')
  t.match(docs.headers['content-security-policy'], /script-src 'self'/, '/docs: a page CSP that lets Swagger UI run its own scripts')
  t.match(docs.headers['content-security-policy'], /frame-ancestors 'none'/, '/docs: and may not be framed, like everything else (X-Frame-Options: DENY)')
  t.match(docs.headers, { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' }, '/docs: the other security headers')
})

t.test('an undeclared method on a known path: 405 with Allow from the gateway and from the function, never a 404 or a 400', async (t) => {
  const id = '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f'
  const cases = [
    { method: 'TRACE', path: `/v1/records/${id}`, allow: 'DELETE, GET, HEAD, PATCH' },
    { method: 'QUERY', path: '/v1/records', allow: 'GET, HEAD, POST', body: '{"status":"open"}' },
    { method: 'PUT', path: `/v1/records/${id}/history`, allow: 'GET, HEAD' },
    { method: 'GET', path: '/oauth2/token', allow: 'POST' }
  ]
  for (const { method, path, allow, body } of cases) {
    const head = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${token}\r\n` +
      (body ? `content-type: text/plain\r\ncontent-length: ${body.length}\r\n` : '') + 'connection: close\r\n\r\n'
    const response = await rawRequest(port, head + (body ?? ''), { timeoutMs: ANSWER_WITHIN_MS * 2 })
    assertProblemAnswer(t, response, 405, `${method} ${path}`)
    t.equal(response.headers.allow, allow, `${method} ${path}: Allow`)
  }
  const getRecord = new URL(stack.functions['get-record']!)
  const direct = await rawRequest(Number(getRecord.port), `TRACE /v1/records/${id} HTTP/1.1\r\nhost: ${getRecord.host}\r\nconnection: close\r\n\r\n`)
  t.equal(direct.status, 405, 'the function itself answers 405 too')
  t.equal(direct.headers.allow, 'GET, HEAD', 'naming the methods it serves')
})
