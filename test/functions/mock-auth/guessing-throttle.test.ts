import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { oauthPaths } from '../../../functions/mock-auth/endpoints.ts'
import { hashClientSecret } from '../../../functions/mock-auth/client-secret.ts'
import type { MockAuthAppOptions } from '../../../functions/mock-auth/app.ts'
import { addressKey, createGuessingThrottle, GUESSING_LIMITS } from '../../../functions/mock-auth/guessing-throttle.ts'
import { basic, buildMockAuth as buildWithLocalClients, form, FORM_TYPE, type MockAuthHarness } from './harness.ts'

const { failuresPerClientAddress, failuresPerAddress, failuresPerTrustedPair, pendingPerTrustedPair, windowMs } = GUESSING_LIMITS
const ATTACKER = '198.51.100.66'
const HOME = '192.0.2.10'
const ELSEWHERE = '203.0.113.5'

/**
 * Clients whose secrets hash at a low scrypt cost: these tests check hundreds of secrets, and the
 * throttle does not care what a check costs. Unknown ids still pay the full decoy cost.
 */
const CLIENT_IDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']
const secretOf = (clientId: string) => `${clientId}-secret`
const cheapClients = await Promise.all(CLIENT_IDS.map(async (clientId) => ({
  client_id: clientId,
  client_secret_hash: await hashClientSecret(secretOf(clientId), { N: 1024, r: 8, p: 1 }),
  scopes: ['records:read' as const],
  tenant: 'local',
  audiences: ['security-records-api']
})))
const buildMockAuth = (t: Test, options: Partial<MockAuthAppOptions> = {}) => buildWithLocalClients(t, { clients: cheapClients, ...options })

interface Attempt { clientId: string, secret?: string, address: string, path?: string, headers?: Record<string, string> }

/** A client-authenticated request from an address; the right secret unless one is given. */
function attempt (auth: MockAuthHarness, { clientId, secret = secretOf(clientId), address, path = oauthPaths.token, headers = {} }: Attempt): Promise<LightMyRequestResponse> {
  const parameters: Record<string, string> = path === oauthPaths.token ? { grant_type: 'client_credentials' } : { token: 'whatever' }
  return auth.app.inject({ method: 'POST', url: path, remoteAddress: address, headers: { ...FORM_TYPE, authorization: basic(clientId, secret), ...headers }, payload: form(parameters) })
}

async function failures (auth: MockAuthHarness, count: number, target: Omit<Attempt, 'secret'> | ((index: number) => Omit<Attempt, 'secret'>)): Promise<number[]> {
  const statuses: number[] = []
  for (let index = 0; index < count; index++) {
    const where = typeof target === 'function' ? target(index) : target
    statuses.push((await attempt(auth, { ...where, secret: `wrong-${index}` })).statusCode)
  }
  return statuses
}

function assertThrottled (t: Test, response: LightMyRequestResponse, message: string) {
  t.equal(response.statusCode, 429, message)
  const retryAfter = Number(response.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowMs / 1000, `Retry-After is whole seconds within the window (${response.headers['retry-after']})`)
  t.match(response.headers['content-type'], /^application\/json/)
  t.equal(response.headers['cache-control'], 'no-store')
  t.notOk(response.headers['www-authenticate'], 'not a 401 challenge')
  t.match(response.json(), { error: 'temporarily_unavailable', error_description: /Too many failed client authentications.*retry in \d+ s/ })
}

t.test(`after ${failuresPerClientAddress} wrong secrets for a client_id from one address, every endpoint answers 429 for it there without checking the secret`, async (t) => {
  const auth = await buildMockAuth(t)
  t.same(await failures(auth, failuresPerClientAddress, { clientId: 'alpha', address: ATTACKER }), Array(failuresPerClientAddress).fill(401), 'each wrong secret is checked until the limit')
  for (const path of [oauthPaths.token, oauthPaths.introspection, oauthPaths.revocation]) {
    assertThrottled(t, await attempt(auth, { clientId: 'alpha', secret: 'wrong', address: ATTACKER, path }), `${path}: wrong secret`)
  }
  // The right secret from there too: nothing was verified.
  assertThrottled(t, await attempt(auth, { clientId: 'alpha', address: ATTACKER }), 'the right secret from the same address')
})

t.test('wrong secrets from many addresses never refuse the right secret from a new one (a new pod, a CI runner)', async (t) => {
  const auth = await buildMockAuth(t)
  const attackers = ['198.51.100.1', '198.51.100.2', '2001:db8:66::1', '203.0.113.77']
  for (const address of attackers) await failures(auth, failuresPerClientAddress, { clientId: 'alpha', address })
  assertThrottled(t, await attempt(auth, { clientId: 'alpha', secret: 'wrong', address: attackers[0]! }), 'each attacking address is throttled')
  const fresh = await attempt(auth, { clientId: 'alpha', address: ELSEWHERE })
  t.equal(fresh.statusCode, 200, 'the right secret from an address that never authenticated is checked and served')
  t.equal(fresh.json().token_type, 'Bearer')
  t.equal((await attempt(auth, { clientId: 'alpha', secret: 'wrong', address: '192.0.2.200' })).statusCode, 401, 'a wrong one from a new address is checked too, and counted there')
})

t.test('a client\'s trusted addresses are its own: 10 000 successes of another client do not push them out', async (t) => {
  let at = 0
  const throttle = createGuessingThrottle(() => at)
  throttle.admit('victim', HOME).settle('succeeded')
  throttle.admit('victim', '2001:db8:1:2::10').settle('succeeded')
  for (let index = 0; index < 10_000; index++) {
    at++
    throttle.admit('busy', `10.${index >> 16 & 255}.${index >> 8 & 255}.${index & 255}`).settle('succeeded')
  }
  t.equal(throttle.admit('victim', HOME).trusted, true, 'the victim is still trusted where it authenticated')
  t.equal(throttle.admit('victim', '2001:db8:1:2:ffff::1').trusted, true, 'anywhere in the same IPv6 /64')
  t.equal(throttle.admit('victim', ATTACKER).trusted, false, 'not elsewhere')
  t.equal(throttle.admit('busy', '10.0.0.0').trusted, false, 'the busy client lost its own oldest address')
  t.equal(throttle.admit('busy', '10.0.39.15').trusted, true, 'and keeps its newest')
})

t.test('unknown client ids are throttled like known ones: which ids exist stays hidden', async (t) => {
  const auth = await buildMockAuth(t)
  const unknown = await failures(auth, failuresPerClientAddress + 1, { clientId: 'no-such-client', address: ATTACKER })
  const known = await failures(auth, failuresPerClientAddress + 1, { clientId: 'alpha', address: ELSEWHERE })
  t.same(unknown, known)
  t.equal(unknown.at(-1), 429)
})

t.test('a client that authenticated from an address keeps being served there while its id is flooded from elsewhere', async (t) => {
  const auth = await buildMockAuth(t)
  t.equal((await attempt(auth, { clientId: 'alpha', address: HOME })).statusCode, 200)
  await failures(auth, failuresPerClientAddress + 5, { clientId: 'alpha', address: ATTACKER })
  assertThrottled(t, await attempt(auth, { clientId: 'alpha', secret: 'wrong', address: ATTACKER }), 'the attacker')
  const home = await attempt(auth, { clientId: 'alpha', address: HOME })
  t.equal(home.statusCode, 200, 'the client, from where it authenticated before')
  t.equal(home.json().token_type, 'Bearer')
})

t.test('a flood on one client_id does not slow or refuse other clients, from the attacker\'s address or elsewhere', async (t) => {
  const auth = await buildMockAuth(t)
  await failures(auth, failuresPerClientAddress + 5, { clientId: 'alpha', address: ATTACKER })
  t.equal((await attempt(auth, { clientId: 'bravo', address: ATTACKER })).statusCode, 200, 'another client, same address (under its address limit)')
  t.equal((await attempt(auth, { clientId: 'charlie', address: ELSEWHERE })).statusCode, 200, 'another client, another address')
  t.equal((await attempt(auth, { clientId: 'charlie', address: ELSEWHERE, path: oauthPaths.introspection })).statusCode, 200, 'introspection too')
})

t.test(`after ${failuresPerAddress} failures from one address across client ids, new clients from it get 429; other addresses and clients trusted there do not`, async (t) => {
  const auth = await buildMockAuth(t)
  t.equal((await attempt(auth, { clientId: 'charlie', address: ATTACKER })).statusCode, 200, 'charlie authenticated from the shared address before')
  const statuses = await failures(auth, failuresPerAddress, (index) => ({ clientId: CLIENT_IDS[3 + index % 3]!, address: ATTACKER }))
  t.same(statuses, Array(failuresPerAddress).fill(401), 'spread over three ids: only the address limit applies')
  assertThrottled(t, await attempt(auth, { clientId: 'bravo', address: ATTACKER }), 'a client never seen from that address')
  t.equal((await attempt(auth, { clientId: 'bravo', address: ELSEWHERE })).statusCode, 200, 'the same client from another address')
  t.equal((await attempt(auth, { clientId: 'charlie', address: ATTACKER })).statusCode, 200, 'a client trusted at that address')
})

t.test('IPv6 addresses are counted by their /64: rotating the interface id does not escape the limit', async (t) => {
  const auth = await buildMockAuth(t)
  await failures(auth, failuresPerAddress, (index) => ({ clientId: CLIENT_IDS[3 + index % 3]!, address: `2001:db8:1:2::${(index + 1).toString(16)}` }))
  assertThrottled(t, await attempt(auth, { clientId: 'bravo', address: '2001:db8:1:2:ffff::1' }), 'same /64')
  t.equal((await attempt(auth, { clientId: 'bravo', address: '2001:db8:1:3::1' })).statusCode, 200, 'another /64')
  t.equal(addressKey('2001:DB8:0:1:2:3:4:5'), addressKey('2001:db8::1:0:0:0:1'))
  t.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1')
})

t.test('the window ends the throttle: Retry-After later, the client is checked again', async (t) => {
  let offsetMs = 0
  const auth = await buildMockAuth(t, { now: () => new Date(Date.now() + offsetMs) })
  await failures(auth, failuresPerClientAddress, { clientId: 'alpha', address: ATTACKER })
  const refused = await attempt(auth, { clientId: 'alpha', secret: 'wrong', address: ATTACKER })
  t.equal(refused.statusCode, 429)
  offsetMs = Number(refused.headers['retry-after']) * 1000
  t.equal((await attempt(auth, { clientId: 'alpha', secret: 'wrong', address: ATTACKER })).statusCode, 401, 'checked again (and wrong)')
  t.equal((await attempt(auth, { clientId: 'alpha', address: ELSEWHERE })).statusCode, 200, 'the right secret works')
})

t.test('success is never counted, and forgives the failures of its (client, address) pair', async (t) => {
  const auth = await buildMockAuth(t)
  const successes = []
  for (let index = 0; index < failuresPerClientAddress + 2; index++) successes.push((await attempt(auth, { clientId: 'bravo', address: HOME })).statusCode)
  t.same(successes, Array(failuresPerClientAddress + 2).fill(200), 'more successes than the failure limit')

  // A trusted pair that mistypes now and then is never throttled, as long as it succeeds in between.
  for (let round = 0; round < 3; round++) {
    t.same(await failures(auth, failuresPerTrustedPair - 1, { clientId: 'bravo', address: HOME }), Array(failuresPerTrustedPair - 1).fill(401))
    t.equal((await attempt(auth, { clientId: 'bravo', address: HOME })).statusCode, 200, `round ${round}: success resets the pair`)
  }
  // …but a trusted pair that keeps guessing is throttled like anyone.
  await failures(auth, failuresPerTrustedPair, { clientId: 'bravo', address: HOME })
  assertThrottled(t, await attempt(auth, { clientId: 'bravo', address: HOME }), 'a trusted pair past its own limit')
})

t.test('a burst of concurrent wrong secrets is bounded before any of them is checked, at a trusted address too', async (t) => {
  const auth = await buildMockAuth(t)
  const burst = async (address: string) => {
    const responses = await Promise.all(Array.from({ length: 60 }, (_, index) => attempt(auth, { clientId: 'alpha', secret: `wrong-${index}`, address })))
    return responses.map((response) => response.statusCode).filter((status) => status === 401).length
  }
  t.equal(await burst(ATTACKER), failuresPerClientAddress, 'from one address: only the pair\'s limit is checked, the rest refused unchecked')
  // Someone sharing a trusted client's address (a NAT, a proxy) guesses its secret.
  t.equal((await attempt(auth, { clientId: 'alpha', address: HOME })).statusCode, 200, 'the right secret from another address is still checked and served')
  const home = await buildMockAuth(t)
  t.equal((await attempt(home, { clientId: 'alpha', address: HOME })).statusCode, 200)
  const checked = (await Promise.all(Array.from({ length: 60 }, (_, index) => attempt(home, { clientId: 'alpha', secret: `wrong-${index}`, address: HOME })))).filter((response) => response.statusCode === 401).length
  t.equal(checked, pendingPerTrustedPair, 'at a trusted pair, at most its pending allowance is checked')
})

t.test(`a trusted client may have ${pendingPerTrustedPair} requests checked at once; a new client's burst is told to retry in 1 s, and then served`, async (t) => {
  const auth = await buildMockAuth(t)
  t.equal((await attempt(auth, { clientId: 'alpha', address: HOME })).statusCode, 200)
  const trusted = await Promise.all(Array.from({ length: pendingPerTrustedPair }, () => attempt(auth, { clientId: 'alpha', address: HOME })))
  t.same(trusted.map((response) => response.statusCode), Array(pendingPerTrustedPair).fill(200), 'every concurrent request of a trusted pair')

  const burst = await Promise.all(Array.from({ length: failuresPerClientAddress + 5 }, () => attempt(auth, { clientId: 'bravo', address: ELSEWHERE })))
  const refused = burst.filter((response) => response.statusCode === 429)
  t.equal(burst.filter((response) => response.statusCode === 200).length, failuresPerClientAddress, 'as many as may be pending')
  t.equal(refused.length, 5)
  t.same(refused.map((response) => response.headers['retry-after']), Array(5).fill('1'), 'nothing failed: retry in a second, not at the end of the window')
  t.equal((await attempt(auth, { clientId: 'bravo', address: ELSEWHERE })).statusCode, 200, 'the retry is served')
})

t.test('X-Forwarded-For is believed only from the configured proxies', async (t) => {
  const behindProxies = await buildMockAuth(t, { trustedProxies: 'loopback, uniquelocal' })
  const viaIngress = (client: string) => ({ address: '10.0.0.2', headers: { 'x-forwarded-for': `${client}, 10.8.0.7` } })
  await failures(behindProxies, failuresPerAddress, (index) => ({ clientId: CLIENT_IDS[3 + index % 3]!, ...viaIngress(ATTACKER) }))
  assertThrottled(t, await attempt(behindProxies, { clientId: 'bravo', ...viaIngress(ATTACKER) }), 'the client address the proxies reported')
  t.equal((await attempt(behindProxies, { clientId: 'bravo', ...viaIngress(ELSEWHERE) })).statusCode, 200, 'another client behind the same proxies')
  // A public peer is not a trusted proxy: what it claims to forward for is ignored.
  const exposed = await buildMockAuth(t, { trustedProxies: 'loopback, uniquelocal' })
  await failures(exposed, failuresPerAddress, (index) => ({ clientId: CLIENT_IDS[3 + index % 3]!, address: ELSEWHERE, headers: { 'x-forwarded-for': `192.0.2.${index}` } }))
  assertThrottled(t, await attempt(exposed, { clientId: 'charlie', address: ELSEWHERE, headers: { 'x-forwarded-for': '192.0.2.200' } }), 'forged header from a public peer')

  // Without trusted proxies, a forged X-Forwarded-For changes nothing: the peer is counted.
  const direct = await buildMockAuth(t)
  await failures(direct, failuresPerAddress, (index) => ({ clientId: CLIENT_IDS[3 + index % 3]!, address: ATTACKER, headers: { 'x-forwarded-for': `192.0.2.${index}` } }))
  assertThrottled(t, await attempt(direct, { clientId: 'bravo', address: ATTACKER, headers: { 'x-forwarded-for': '192.0.2.200' } }), 'forged header, same peer')
})

t.test('behind an edge that stamps the client address, that header is counted and forged forwarding headers are not', async (t) => {
  const edge = { trustedProxies: 'loopback', clientAddressHeader: 'X-Client-Address' }
  // The queue-proxy is the peer; the ingress overwrote x-client-address with the address it saw.
  // A load balancer that rewrites source addresses (SNAT) makes that a node address, and the
  // client's own X-Forwarded-For entries would look like the ones a proxy wrote.
  const viaEdge = (client: string, forged: string) => ({ address: '127.0.0.1', headers: { 'x-client-address': client, 'x-forwarded-for': `${forged}, 10.0.0.9, 10.8.0.7` } })
  const auth = await buildMockAuth(t, edge)
  await failures(auth, failuresPerAddress, (index) => ({ clientId: CLIENT_IDS[3 + index % 3]!, ...viaEdge(ATTACKER, `192.0.2.${index}`) }))
  assertThrottled(t, await attempt(auth, { clientId: 'bravo', ...viaEdge(ATTACKER, '192.0.2.200') }), 'rotating X-Forwarded-For does not escape the per-address count')
  t.equal((await attempt(auth, { clientId: 'bravo', ...viaEdge(ELSEWHERE, '192.0.2.201') })).statusCode, 200, 'another client address behind the same edge')

  // From a peer that is not a trusted proxy the header is the client's own claim: the peer is counted.
  const exposed = await buildMockAuth(t, edge)
  await failures(exposed, failuresPerAddress, (index) => ({ clientId: CLIENT_IDS[3 + index % 3]!, address: ATTACKER, headers: { 'x-client-address': `192.0.2.${index}` } }))
  assertThrottled(t, await attempt(exposed, { clientId: 'bravo', address: ATTACKER, headers: { 'x-client-address': '192.0.2.200' } }), 'forged header from an untrusted peer')
  // A stamp that is not an address is ignored: each counts against the peer, not as a fresh address.
  const junk = await buildMockAuth(t, edge)
  await failures(junk, failuresPerAddress, (index) => ({ clientId: CLIENT_IDS[3 + index % 3]!, address: '127.0.0.1', headers: { 'x-client-address': `unknown-${index}` } }))
  assertThrottled(t, await attempt(junk, { clientId: 'bravo', address: '127.0.0.1', headers: { 'x-client-address': 'unknown' } }), 'junk stamps fall back to the peer')

  for (const [options, message] of [
    [{ clientAddressHeader: 'x-client-address' }, /set the trusted proxies/],
    [{ trustedProxies: 'loopback', clientAddressHeader: 'x-forwarded-for' }, /is not a header an edge proxy sets/],
    [{ trustedProxies: 'loopback', clientAddressHeader: 'bad header' }, /is not a header an edge proxy sets/]
  ] as const) {
    await t.rejects(buildMockAuth(t, options), { name: 'ConfigError', message }, JSON.stringify(options))
  }
})

t.test('a trusted-proxy list that is not one is a start-up error naming the entry', async (t) => {
  for (const list of ['10.0.0.0/33', 'everything', '10.0.0.1/8/9', '::1/129']) {
    await t.rejects(buildMockAuth(t, { trustedProxies: list }), { name: 'ConfigError', message: /trusted proxies: .* is not loopback, linklocal, uniquelocal, an IP address or a CIDR/ }, list)
  }
})
