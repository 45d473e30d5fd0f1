import { createPublicKey } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { createVerifier } from 'fast-jwt'
import { SignJWT, type JWK } from 'jose'
import listRecordsRoute from '../../../functions/list-records/route.ts'
import { buildApp, loggerOptions } from '../../../shared/app.ts'
import { createTokenVerifier, type TokenVerifierOptions } from '../../../shared/auth/token-verifier.ts'
import { PROBLEM_TYPE_BASE } from '../../../shared/http/problem.ts'
import { createRevokedTokens } from '../../../shared/store/revoked-tokens.ts'
import { buildRecordsApi, TEST_CURSOR_SECRET } from '../../support/records-api.ts'
import { startTestStore } from '../../support/store.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../../support/tokens.ts'

/**
 * Every way a caller can present a token it should not have, against the real records API.
 * Each must be a 401 (or 403 for a missing scope) with an RFC 6750 challenge and problem+json.
 */

const now = () => Math.floor(Date.now() / 1000)
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function assertRefused (t: Test, response: LightMyRequestResponse, name: string, expected: { status: 401 | 403, error: 'invalid_token' | 'insufficient_scope' } = { status: 401, error: 'invalid_token' }) {
  t.equal(response.statusCode, expected.status, `${name}: status`)
  const challenge = String(response.headers['www-authenticate'] ?? '')
  t.match(challenge, /^Bearer realm="security-records", /, `${name}: Bearer challenge`)
  t.ok(challenge.includes(`error="${expected.error}"`), `${name}: error="${expected.error}" in ${challenge}`)
  t.match(response.headers['content-type'], /^application\/problem\+json/, `${name}: problem+json`)
  const body = response.json()
  t.match(body, { type: `${PROBLEM_TYPE_BASE}${expected.error.replace('_', '-')}`, status: expected.status, title: String, detail: String, instance: '/v1/records' }, `${name}: problem body`)
}

/** A server standing in for an attacker's key host: it must never be asked. */
async function attackerKeyHost (t: Test, jwks: unknown) {
  const hits: string[] = []
  const server = createServer((request, response) => {
    hits.push(request.url ?? '')
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(jwks))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, hits }
}

/** The records API with its real logger configuration at trace level, writing to a string. */
async function recordsApiWithLogs (t: Test) {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const keys = await createTestKeys()
  let logs = ''
  const stream = new Writable({ write (chunk, _encoding, done) { logs += chunk; done() } })
  const app = await buildApp({
    config: { CURSOR_SECRET: TEST_CURSOR_SECRET, LOG_LEVEL: 'trace' },
    store,
    verifyToken: createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: keys.keySet, clockToleranceSeconds: 30 }),
    routes: listRecordsRoute,
    logger: { ...(loggerOptions('trace') as object), stream }
  })
  t.teardown(() => app.close())
  return { app, keys, logs: () => logs }
}

t.test('a genuine token passes (the control for every refusal below)', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer() } })
  t.equal(response.statusCode, 200)
})

t.test('malformed credentials are 401 invalid_token', async (t) => {
  const api = await buildRecordsApi(t)
  const token = await api.keys.sign()
  const cases: Array<[string, Record<string, string>, string?]> = [
    ['no token', {}],
    ['Basic instead of Bearer', { authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}` }],
    ['token without a scheme', { authorization: token }],
    ['garbage', { authorization: 'Bearer garbage' }],
    ['three garbage segments', { authorization: 'Bearer aaa.bbb.ccc' }],
    ['signature stripped', { authorization: `Bearer ${token.split('.').slice(0, 2).join('.')}.` }],
    ['token in the query string only', {}, `?access_token=${token}`]
  ]
  for (const [name, headers, query = ''] of cases) {
    assertRefused(t, await api.app.inject({ method: 'GET', url: `/v1/records${query}`, headers }), name)
  }
})

t.test('algorithm attacks are 401 invalid_token: alg none, HS256 keyed with the public key', async (t) => {
  const api = await buildRecordsApi(t)
  const publicJwk = api.keys.jwks.keys[0]!
  const claims = { iss: TEST_ISSUER, sub: 'attacker', aud: TEST_AUDIENCE, client_id: 'attacker', scope: 'records:read records:write records:delete', tenant: 'acme', iat: now(), exp: now() + 600, jti: 'forged-1' }
  const pem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  const hmac = (secret: string) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: publicJwk.kid! }).sign(new TextEncoder().encode(secret))
  const cases: Record<string, string> = {
    'alg none': `${base64url({ alg: 'none', typ: 'at+jwt', kid: publicJwk.kid })}.${base64url(claims)}.`,
    'alg None': `${base64url({ alg: 'None', typ: 'at+jwt', kid: publicJwk.kid })}.${base64url(claims)}.`,
    'HS256 keyed with the public JWK': await hmac(JSON.stringify(publicJwk)),
    'HS256 keyed with the public PEM': await hmac(pem)
  }
  for (const [name, token] of Object.entries(cases)) {
    assertRefused(t, await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } }), name)
  }
})

t.test('foreign keys are 401 invalid_token: same kid, other kid, unknown kid', async (t) => {
  const api = await buildRecordsApi(t)
  const genuineKid = api.keys.jwks.keys[0]!.kid!
  const impostor = await createTestKeys(genuineKid)
  const stranger = await createTestKeys('attacker-key')
  const cases: Record<string, string> = {
    'valid signature by an unknown key with our kid': await impostor.sign(),
    'valid signature by an unknown key with its own kid': await stranger.sign(),
    'our key\'s token relabelled with an unknown kid': await api.keys.sign({}, { kid: 'no-such-kid' }),
    'no kid at all, signed by an unknown key': await stranger.sign({}, { kid: undefined })
  }
  for (const [name, token] of Object.entries(cases)) {
    assertRefused(t, await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } }), name)
  }
})

t.test('keys named by the token (jku, x5u, embedded jwk) are never used or fetched', async (t) => {
  const api = await buildRecordsApi(t)
  const attacker = await createTestKeys('attacker-key')
  const host = await attackerKeyHost(t, attacker.jwks)
  const genuineKid = api.keys.jwks.keys[0]!.kid!
  const cases: Record<string, string> = {
    'jku to the attacker\'s JWKS': await attacker.sign({}, { jku: host.url, kid: 'attacker-key' }),
    'jku with our kid': await attacker.sign({}, { jku: host.url, kid: genuineKid }),
    'x5u to the attacker': await attacker.sign({}, { x5u: host.url, kid: 'attacker-key' }),
    'embedded jwk': await attacker.sign({}, { jwk: attacker.jwks.keys[0], kid: 'attacker-key' })
  }
  for (const [name, token] of Object.entries(cases)) {
    assertRefused(t, await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } }), name)
  }
  t.same(host.hits, [], 'the attacker\'s key host was never contacted')
})

t.test('time attacks are 401 invalid_token: expired, not yet valid, issued in the future', async (t) => {
  const api = await buildRecordsApi(t)
  const cases: Record<string, Record<string, unknown>> = {
    'expired (beyond the 30 s skew)': { iat: now() - 700, exp: now() - 60 },
    'not yet valid (nbf in 5 minutes)': { nbf: now() + 300 },
    'issued in the future (iat in 5 minutes)': { iat: now() + 300, exp: now() + 900 },
    'no exp': { exp: undefined },
    'no iat': { iat: undefined }
  }
  for (const [name, claims] of Object.entries(cases)) {
    assertRefused(t, await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer(claims) } }), name)
  }
  const withinSkew = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer({ exp: now() - 5 }) } })
  t.equal(withinSkew.statusCode, 200, 'a token expired 5 s ago is within the tolerated skew')
})

t.test('tokens not meant for this API are 401 invalid_token: issuer, audience, type, claims', async (t) => {
  const api = await buildRecordsApi(t)
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>?]> = [
    ['wrong iss', { iss: 'https://evil.example' }],
    ['iss with a trailing slash', { iss: `${TEST_ISSUER}/` }],
    ['a genuine token for another API (aud urn:example:other-api)', { aud: 'urn:example:other-api' }],
    ['no aud', { aud: undefined }],
    ['typ JWT (an ID token or a generic JWT)', {}, { typ: 'JWT' }],
    ['no typ', {}, { typ: undefined }],
    ['missing tenant', { tenant: undefined }],
    ['tenant that is not a tenant name', { tenant: '../other' }],
    ['missing jti', { jti: undefined }],
    ['missing sub', { sub: undefined }],
    ['missing scope claim (not an RFC 9068 token of ours)', { scope: undefined }],
    ['scope of the wrong type', { scope: ['records:read'] }]
  ]
  for (const [name, claims, header] of cases) {
    const token = await api.keys.sign(claims, header)
    assertRefused(t, await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } }), name)
  }
})

t.test('a token without the needed scope is 403 insufficient_scope naming the scope', async (t) => {
  const api = await buildRecordsApi(t)
  const cases: Array<[string, string, string, string]> = [
    ['write-only token reading', 'GET', 'records:write', 'records:read'],
    ['empty scope reading', 'GET', '', 'records:read'],
    ['read-only token writing', 'POST', 'records:read', 'records:write']
  ]
  for (const [name, method, scope, needed] of cases) {
    const response = await api.app.inject({ method: method as 'GET' | 'POST', url: '/v1/records', headers: { authorization: await api.bearer({ scope }) }, payload: method === 'POST' ? {} : undefined })
    assertRefused(t, response, name, { status: 403, error: 'insufficient_scope' })
    t.match(response.headers['www-authenticate'], `scope="${needed}"`, `${name}: names ${needed}`)
  }
})

t.test('a revoked token is 401 invalid_token, though its signature and claims are fine', async (t) => {
  const api = await buildRecordsApi(t)
  const exp = now() + 600
  const authorization = await api.bearer({ jti: 'to-be-revoked', exp })
  t.equal((await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })).statusCode, 200)
  await createRevokedTokens(api.store).revoke(TEST_ISSUER, 'to-be-revoked', exp)
  const response = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })
  assertRefused(t, response, 'revoked')
  t.match(response.json().detail, /revoked/)
})

t.test('refusals say what is wrong without echoing the token', async (t) => {
  const api = await buildRecordsApi(t)
  const token = await api.keys.sign({ aud: 'urn:example:other-api' })
  const response = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } })
  t.match(response.json().detail, /aud/)
  t.notOk(response.body.includes(token.split('.')[1]!), 'the body does not echo the token')
  t.notOk(String(response.headers['www-authenticate']).includes(token.split('.')[1]!), 'the challenge does not echo the token')
})

t.test('at trace level, the records API never logs an access token', async (t) => {
  const { app, keys, logs } = await recordsApiWithLogs(t)

  const valid = await keys.sign()
  const expired = await keys.sign({ iat: now() - 700, exp: now() - 60 })
  const foreign = await (await createTestKeys()).sign()
  for (const token of [valid, expired, foreign]) {
    await app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } })
  }
  await app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}` } })

  t.match(logs(), /incoming request/, 'requests were logged')
  for (const [name, token] of Object.entries({ valid, expired, foreign })) {
    t.notOk(logs().includes(token), `${name} token not logged`)
    t.notOk(logs().includes(token.split('.')[2]!), `${name} token's signature not logged`)
  }
  t.notOk(logs().includes(Buffer.from('local-admin:local-admin-secret').toString('base64')), 'Basic credentials not logged')
})

t.test('a token sent in the query string is refused and not logged', async (t) => {
  const { app, keys, logs } = await recordsApiWithLogs(t)
  const token = await keys.sign()
  const response = await app.inject({ method: 'GET', url: `/v1/records?access_token=${token}` })
  t.equal(response.statusCode, 401)
  t.notOk(logs().includes(token.split('.')[2]!), 'the token is not logged')
})

/** The records API trusting one key set (e.g. an RSA issuer key), quiet. */
async function recordsApiTrusting (t: Test, keys: TestKeys, verifier: Partial<TokenVerifierOptions> = {}) {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const app = await buildApp({
    config: { CURSOR_SECRET: TEST_CURSOR_SECRET, LOG_LEVEL: 'silent' },
    store,
    verifyToken: createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: keys.keySet, clockToleranceSeconds: 30, ...verifier }),
    routes: listRecordsRoute,
    logger: false
  })
  t.teardown(() => app.close())
  return app
}

/** The forms an RSA public key takes as text; each was once mistaken for an HMAC secret by fast-jwt. */
function rsaPublicKeyTexts (jwk: JWK): Record<string, string> {
  const key = createPublicKey({ key: jwk as never, format: 'jwk' })
  const spki = key.export({ type: 'spki', format: 'pem' }).toString()
  return {
    'SPKI PEM': spki,
    'PKCS#1 PEM (CVE-2023-48223)': key.export({ type: 'pkcs1', format: 'pem' }).toString(),
    'PEM after a newline (GHSA-mvf2-f6gm-w987)': `\n${spki}`,
    'PEM after spaces and a tab (GHSA-mvf2-f6gm-w987)': `  \t${spki}`,
    'PEM after other bytes (GHSA-ww5h-9m49-7xx4)': `key:${spki}`,
    'the JWK as JSON': JSON.stringify(jwk)
  }
}

t.test('CVE-2023-48223 (GHSA-c2ff-88x2-x9pg) and its bypasses: an HMAC token keyed with the issuer\'s RSA public key is 401', async (t) => {
  const keys = await createTestKeys('rsa-issuer-key', 'RS256')
  const app = await recordsApiTrusting(t, keys)
  t.equal((await app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${await keys.sign()}` } })).statusCode, 200, 'control: a genuine RS256 token passes')
  const publicJwk = keys.jwks.keys[0]!
  const claims = { iss: TEST_ISSUER, sub: 'attacker', aud: TEST_AUDIENCE, client_id: 'attacker', scope: 'records:read', tenant: 'acme', iat: now(), exp: now() + 600, jti: 'forged-rsa' }
  for (const [form, secret] of Object.entries(rsaPublicKeyTexts(publicJwk))) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', kid: publicJwk.kid! }).sign(new TextEncoder().encode(secret))
      assertRefused(t, await app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } }), `${alg} keyed with the ${form}`)
    }
  }
})

t.test('CVE-2023-48223: the pinned fast-jwt itself never takes an RSA public key for an HMAC secret (no allow-list given)', async (t) => {
  const keys = await createTestKeys('rsa-library-key', 'RS256')
  for (const [form, secret] of Object.entries(rsaPublicKeyTexts(keys.jwks.keys[0]!))) {
    if (form === 'the JWK as JSON') continue
    const forged = await new SignJWT({ sub: 'attacker' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))
    t.throws(() => createVerifier({ key: secret })(forged), `${form}: refused`)
  }
})

t.test('GHSA-gm45-q3v2-6cf8 (CVE-2025-30144): an iss array that contains our issuer is 401', async (t) => {
  const api = await buildRecordsApi(t)
  const cases: Record<string, unknown> = {
    'an attacker\'s issuer, then ours': ['https://evil.example', TEST_ISSUER],
    'ours, then an attacker\'s': [TEST_ISSUER, 'https://evil.example'],
    'ours alone, in an array': [TEST_ISSUER]
  }
  for (const [name, iss] of Object.entries(cases)) {
    const response = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer({ iss }) } })
    assertRefused(t, response, `iss ${name}`)
    t.match(response.json().detail, /iss/, `iss ${name}: names the claim`)
  }
  const keys = await createTestKeys('library-key')
  const verify = createVerifier({ key: async () => createPublicKey({ key: keys.jwks.keys[0]! as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString(), allowedIss: TEST_ISSUER })
  await t.rejects(verify(await keys.sign({ iss: ['https://evil.example', TEST_ISSUER] })), { code: 'FAST_JWT_INVALID_CLAIM_VALUE' }, 'the pinned fast-jwt refuses it on its own')
})

t.test('a genuinely signed token living longer than 3600 s (exp - iat) is 401, however fresh', async (t) => {
  const api = await buildRecordsApi(t)
  const issued = now()
  const cases: Record<string, number> = { 'ten years': 10 * 365 * 86_400, 'a day': 86_400, 'an hour and a second': 3601 }
  for (const [name, lifetime] of Object.entries(cases)) {
    const response = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer({ iat: issued, exp: issued + lifetime }) } })
    assertRefused(t, response, name)
    t.match(response.json().detail, /lifetime/, `${name}: says why`)
  }
  const hour = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer({ iat: issued, exp: issued + 3600 }) } })
  t.equal(hour.statusCode, 200, 'exactly an hour is accepted')
})

t.test('a lower lifetime setting refuses tokens the issuer may still sign', async (t) => {
  const keys = await createTestKeys()
  const app = await recordsApiTrusting(t, keys, { maxLifetimeSeconds: 600 })
  const issued = now()
  const longer = await app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${await keys.sign({ iat: issued, exp: issued + 601 })}` } })
  assertRefused(t, longer, '601 s with a 600 s limit')
  t.equal((await app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${await keys.sign({ iat: issued, exp: issued + 600 })}` } })).statusCode, 200, '600 s passes')
})
