import t from 'tap'
import { startMemoryStack } from '../support/local-stack.ts'
import { problemViolation } from '../system/resilience/harness.ts'
import { rawRequest } from '../system/hostile/raw-http.ts'

/** Short, so the test is quick; the default (30 s) is far above what any answer below may take. */
const REQUEST_TIMEOUT_MS = 1000
/** Half the default: an answer later than this came from some other, longer timeout. */
const LATEST_ANSWER_MS = 15_000

const stack = await startMemoryStack(t, { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) })

const token = await (async () => {
  const response = await fetch(`${stack.url}/oauth2/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
  return (await response.json() as { access_token: string }).access_token
})()
const portOf = (url: string) => Number(new URL(url).port)
const slowHeaders = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '
const slowBody = (path: string, contentType: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${contentType}\r\nContent-Length: 100\r\n\r\n{"title":`

const cases: Array<[string, number, string]> = [
  ['the gateway, headers never finished', portOf(stack.url), slowHeaders],
  ['the gateway, a body that stops half-way', portOf(stack.url), slowBody('/v1/records', 'application/json')],
  ['mock-auth, headers never finished', portOf(stack.functions['mock-auth']!), slowHeaders],
  ['mock-auth, a body that stops half-way', portOf(stack.functions['mock-auth']!), slowBody('/oauth2/token', 'application/x-www-form-urlencoded')],
  ['a record function, headers never finished', portOf(stack.functions['create-record']!), slowHeaders],
  ['a record function, a body that stops half-way', portOf(stack.functions['create-record']!), slowBody('/v1/records', 'application/json')]
]

// All at once: each waits out the timeout on its own connection.
const answers = cases.map(([, port, request]) => rawRequest(port, request, { timeoutMs: LATEST_ANSWER_MS * 2 }))

for (const [index, [name]] of cases.entries()) {
  t.test(`REQUEST_TIMEOUT_MS applies to ${name}: a 408 problem after it`, async (t) => {
    const response = await answers[index]!
    t.equal(problemViolation(response.status, response.headers, response.body, { min: 408, max: 408 }), undefined, `408 problem+json (got ${response.status} ${response.body.slice(0, 100)})`)
    t.match(response.headers, { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' }, 'the API\'s security headers')
    t.ok(response.elapsedMs >= REQUEST_TIMEOUT_MS * 0.9, `not before REQUEST_TIMEOUT_MS (${Math.round(response.elapsedMs)} ms)`)
    t.ok(response.elapsedMs < LATEST_ANSWER_MS, `after REQUEST_TIMEOUT_MS, not the default (${Math.round(response.elapsedMs)} ms)`)
  })
}
