import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { CLIENT_ADDRESS_HEADER } from '../../functions/mock-auth/endpoints.ts'
import { buildGateway, type AddressRateLimit, type GatewayRoute } from '../../local-dev/gateway.ts'
import { createTokenVerifier } from '../../shared/auth/token-verifier.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER } from '../support/tokens.ts'

const now = () => Math.floor(Date.now() / 1000)

/** A function stand-in on a free port, closed at teardown; its URL. */
async function stubFunction (t: Test, handler: RequestListener): Promise<string> {
  const upstream = createServer(handler)
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { upstream.closeAllConnections(); upstream.close(() => resolve()) }))
  return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
}

/** The gateway in front of one route, without token checks. */
async function gatewayFor (t: Test, route: Omit<GatewayRoute, 'authenticated'>, options: { maxRequestsPerUpstream?: number, addressRateLimit?: AddressRateLimit } = {}) {
  const gateway = await buildGateway({
    routes: [{ ...route, authenticated: false }],
    verifyToken: createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: (await createTestKeys()).keySet, clockToleranceSeconds: 30 }),
    healthChecks: {},
    logger: false,
    ...options
  })
  t.teardown(() => gateway.close())
  return gateway
}

/** The gateway in front of a function stand-in that counts what reaches it. */
async function gatewayWithUpstream (t: Test) {
  const reached: string[] = []
  const upstream = createServer((request, response) => {
    reached.push(request.url ?? '')
    response.setHeader('content-type', 'application/json')
    response.end('{"items":[]}')
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { upstream.closeAllConnections(); upstream.close(() => resolve()) }))
  const keys = await createTestKeys()
  const gateway = await buildGateway({
    routes: [{ method: 'GET', path: '/v1/records', upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, authenticated: true }],
    verifyToken: createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: keys.keySet, clockToleranceSeconds: 30 }),
    healthChecks: {},
    logger: false
  })
  t.teardown(() => gateway.close())
  return { gateway, keys, reached }
}

t.test('the gateway refuses a genuinely signed token that lives longer than an hour before any function sees it', async (t) => {
  const { gateway, keys, reached } = await gatewayWithUpstream(t)
  const issued = now()
  const tenYears = await gateway.inject({ url: '/v1/records', headers: { authorization: `Bearer ${await keys.sign({ iat: issued, exp: issued + 10 * 365 * 86_400 })}` } })
  t.equal(tenYears.statusCode, 401)
  t.match(tenYears.headers['www-authenticate'], /^Bearer realm="security-records", error="invalid_token"/)
  t.match(tenYears.headers['content-type'], /^application\/problem\+json/)
  t.match(tenYears.json(), { status: 401, detail: 'The access token\'s lifetime (exp - iat) exceeds 3600 s' })
  t.same(reached, [], 'the function was never asked')

  const hour = await gateway.inject({ url: '/v1/records', headers: { authorization: `Bearer ${await keys.sign({ iat: issued, exp: issued + 3600 })}` } })
  t.equal(hour.statusCode, 200, 'an hour-long token is passed on')
  t.same(reached, ['/v1/records'])
})

t.test('the gateway applies the functions\' checks: a foreign key, another audience, an iss array and a missing typ stop there', async (t) => {
  const { gateway, keys, reached } = await gatewayWithUpstream(t)
  const cases: Record<string, string> = {
    'a foreign key': await (await createTestKeys()).sign(),
    'another API\'s token': await keys.sign({ aud: 'urn:example:other-api' }),
    'an iss array (GHSA-gm45-q3v2-6cf8)': await keys.sign({ iss: ['https://evil.example', TEST_ISSUER] }),
    'no token type': await keys.sign({}, { typ: undefined })
  }
  for (const [name, token] of Object.entries(cases)) {
    const response = await gateway.inject({ url: '/v1/records', headers: { authorization: `Bearer ${token}` } })
    t.equal(response.statusCode, 401, name)
  }
  t.same(reached, [], 'no refused request reached the function')
})

t.test('the gateway stamps each client\'s address in x-client-address, replacing what the client sent, as the ingress does', async (t) => {
  const seen: Array<string | string[] | undefined> = []
  const upstream = await stubFunction(t, (request, response) => {
    seen.push(request.headers[CLIENT_ADDRESS_HEADER])
    response.setHeader('content-type', 'application/json')
    response.end('{}')
  })
  const gateway = await gatewayFor(t, { method: 'POST', path: '/oauth2/token', upstream })
  await gateway.inject({ method: 'POST', url: '/oauth2/token', remoteAddress: '198.51.100.7', headers: { 'content-type': 'application/x-www-form-urlencoded', [CLIENT_ADDRESS_HEADER]: '192.0.2.1' }, payload: 'grant_type=client_credentials' })
  await gateway.inject({ method: 'POST', url: '/oauth2/token', remoteAddress: '203.0.113.9', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' })
  t.same(seen, ['198.51.100.7', '203.0.113.9'])
})

t.test('requests a function holds past the gateway\'s bound get a 503 with Retry-After; a client that leaves frees its slot only once the function answered', async (t) => {
  const held: Array<() => void> = []
  const upstream = await stubFunction(t, (_request, response) => {
    held.push(() => { response.setHeader('content-type', 'application/json'); response.end('{"items":[]}') })
  })
  const gateway = await gatewayFor(t, { method: 'GET', path: '/slow', upstream }, { maxRequestsPerUpstream: 2 })
  const base = await gateway.listen({ port: 0, host: '127.0.0.1' })
  const waitFor = async (condition: () => boolean) => { while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10)) }

  const leaving = [new AbortController(), new AbortController()]
  const first = leaving.map((controller) => fetch(`${base}/slow`, { signal: controller.signal }).catch(() => 'left'))
  await waitFor(() => held.length === 2)
  const refused = await fetch(`${base}/slow`)
  t.equal(refused.status, 503, 'a third request while two are in the function')
  t.match(refused.headers.get('content-type'), /^application\/problem\+json/)
  t.equal(refused.headers.get('retry-after'), '1')
  t.match(await refused.json(), { type: /overloaded$/, status: 503 })

  for (const controller of leaving) controller.abort()
  t.same(await Promise.all(first), ['left', 'left'], 'both clients went away')
  t.equal((await fetch(`${base}/slow`)).status, 503, 'their requests still run in the function: still no room')
  for (const answer of held.splice(0)) answer()
  // The gateway takes the answers in (and drops them: their clients are gone).
  await new Promise((resolve) => setTimeout(resolve, 200))
  const served = fetch(`${base}/slow`)
  await waitFor(() => held.length === 1)
  held.shift()!()
  t.equal((await served).status, 200, 'once the function answered them, a request is served again')
})

t.test('one client address is held to its request rate: a request over it waits its turn, one that would wait over a second gets a 429; other addresses are served', async (t) => {
  let reached = 0
  const upstream = await stubFunction(t, (_request, response) => {
    reached++
    response.setHeader('content-type', 'application/json')
    response.end('{"items":[]}')
  })
  // 4 per second, no burst: the 2nd request waits 250 ms, the 5th 1 s, the 6th would wait 1.25 s.
  const gateway = await gatewayFor(t, { method: 'GET', path: '/v1/records', upstream }, { addressRateLimit: { perSecond: 4, burst: 1 } })
  const from = (remoteAddress: string) => gateway.inject({ url: '/v1/records', remoteAddress })

  const flood = await Promise.all(Array.from({ length: 6 }, () => from('192.0.2.1')))
  t.same(flood.map((response) => response.statusCode), [200, 200, 200, 200, 200, 429], 'five served in turn, the sixth refused')
  const refused = flood[5]!
  t.match(refused.headers['content-type'], /^application\/problem\+json/)
  t.match(refused.json(), { type: /rate-limited$/, status: 429, detail: /more than 4 requests per second/ })
  t.equal(refused.headers['retry-after'], '2', 'Retry-After: when a request would be on time again, in whole seconds')
  t.equal(reached, 5, 'the refused request never reached the function')

  t.equal((await from('192.0.2.2')).statusCode, 200, 'another address is served at once')
  const neighbours = await Promise.all([from('2001:db8:1:2::1'), ...Array.from({ length: 5 }, (_, i) => from(`2001:db8:1:2::${i + 2}`))])
  t.equal(neighbours.filter((response) => response.statusCode === 429).length, 1, 'addresses of one IPv6 /64 share one rate')
})
