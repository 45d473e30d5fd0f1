import t, { type Test } from 'tap'
import { configuredTokenVerifier } from '../../../shared/auth/token-verifier.ts'
import { loadConfig } from '../../../shared/config.ts'
import { jwksEndpoint, remoteVerifier } from '../../support/jwks-endpoint.ts'
import { createTestKeys, TEST_ISSUER, verifierProbe, type TestKeys } from '../../support/tokens.ts'

/**
 * The verifier on its own: keys from a JWKS served over HTTP through remoteKeySet (what every
 * deployed function and the local gateway use), and what each refusal says.
 */

const now = () => Math.floor(Date.now() / 1000)

t.test('a key whose type does not fit the token\'s alg, or that is not for signatures, is refused', async (t) => {
  const rsa = await createTestKeys('shared-kid', 'RS256')
  const ec = await createTestKeys('enc-key')
  const issuer = await jwksEndpoint(t, { keys: [{ ...rsa.jwks.keys[0]!, alg: undefined }, { ...ec.jwks.keys[0]!, use: 'enc' }] })
  const verify = await remoteVerifier(t, issuer.url)
  const es256UnderRsaKid = await (await createTestKeys('shared-kid')).sign()
  await t.rejects(verify(es256UnderRsaKid), { message: 'The access token\'s signing algorithm is not accepted' })
  await t.rejects(verify(await ec.sign()), { message: 'The access token was signed by an unknown key' })
  t.equal((await verify(await rsa.sign())).tenant, 'acme', 'control: the RSA key verifies its RS256 token')
})

t.test('each refusal says what is wrong', async (t) => {
  const keys = await createTestKeys()
  const issuer = await jwksEndpoint(t, keys.jwks)
  const verify = await remoteVerifier(t, issuer.url)
  const cases: Array<[string, Promise<string>, string | RegExp]> = [
    ['expired', keys.sign({ iat: now() - 700, exp: now() - 60 }), 'The access token expired'],
    ['nbf ahead', keys.sign({ nbf: now() + 300 }), 'The access token is not valid yet'],
    ['iat ahead', keys.sign({ iat: now() + 300, exp: now() + 900 }), 'The access token is not valid yet'],
    ['typ JWT', keys.sign({}, { typ: 'JWT' }), 'The token is not an access token (typ must be at+jwt)'],
    ['wrong issuer', keys.sign({ iss: 'https://evil.example' }), 'The access token\'s iss claim is not accepted'],
    ['wrong audience', keys.sign({ aud: 'urn:example:other-api' }), 'The access token\'s aud claim is not accepted'],
    ['no jti', keys.sign({ jti: undefined }), 'The access token\'s jti claim is not accepted'],
    ['bad tenant', keys.sign({ tenant: '../other' }), 'The access token has no valid tenant claim'],
    ['scope not a string', keys.sign({ scope: ['records:read'] }), 'The access token\'s claims have the wrong types'],
    ['a day long', keys.sign({ iat: now(), exp: now() + 86_400 }), 'The access token\'s lifetime (exp - iat) exceeds 3600 s'],
    ['unknown crit header (GHSA-hm7r-c7qw-ghp6)', keys.sign({}, { crit: ['x-policy'], 'x-policy': 'mfa' }, { crit: { 'x-policy': true } }), 'The access token is malformed']
  ]
  for (const [name, token, message] of cases) await t.rejects(verify(await token), { statusCode: 401, message }, name)
  const genuine = await keys.sign()
  const [header, payload, signature] = genuine.split('.') as [string, string, string]
  const otherSignature = (await keys.sign()).split('.')[2]!
  await t.rejects(verify(`${header}.${payload}.${otherSignature}`), { message: 'The access token\'s signature is invalid' }, 'another token\'s signature')
  await t.rejects(verify(`${header}.${payload}.${signature}x`), { statusCode: 401, message: /signature|malformed/ }, 'a lengthened signature')
})

async function lifetimeProbe (t: Test, keys: TestKeys, env: Record<string, string>) {
  const issuer = await jwksEndpoint(t, keys.jwks)
  const config = loadConfig({ AUTH_ISSUER: TEST_ISSUER, AUTH_JWKS_URL: issuer.url, CURSOR_SECRET: 'x'.repeat(32), ...env })
  return verifierProbe(t, configuredTokenVerifier(config))
}

t.test('AUTH_MAX_TOKEN_LIFETIME_SECONDS: 3600 unless set, and a lower setting is obeyed', async (t) => {
  const keys = await createTestKeys()
  const issued = now()
  const byDefault = await lifetimeProbe(t, keys, {})
  t.equal((await byDefault(await keys.sign({ iat: issued, exp: issued + 3600 }))).tenant, 'acme', 'an hour by default')
  await t.rejects(byDefault(await keys.sign({ iat: issued, exp: issued + 3601 })), { message: /lifetime/ })
  const tighter = await lifetimeProbe(t, keys, { AUTH_MAX_TOKEN_LIFETIME_SECONDS: '900' })
  await t.rejects(tighter(await keys.sign({ iat: issued, exp: issued + 901 })), { message: 'The access token\'s lifetime (exp - iat) exceeds 900 s' })
  t.throws(() => loadConfig({ AUTH_ISSUER: TEST_ISSUER, AUTH_JWKS_URL: 'http://127.0.0.1/jwks', CURSOR_SECRET: 'x'.repeat(32), AUTH_MAX_TOKEN_LIFETIME_SECONDS: '86400' }), /AUTH_MAX_TOKEN_LIFETIME_SECONDS/, 'never above the contract\'s hour')
})

t.test('AUTH_JWKS_JSON: the issuer\'s keys inline, so the JWKS URL is never fetched; a value that is no key set stops the start', async (t) => {
  const keys = await createTestKeys()
  const issuer = await jwksEndpoint(t, keys.jwks)
  const config = loadConfig({ AUTH_ISSUER: TEST_ISSUER, AUTH_JWKS_URL: issuer.url, AUTH_JWKS_JSON: JSON.stringify(keys.jwks), CURSOR_SECRET: 'x'.repeat(32) })
  const verify = await verifierProbe(t, configuredTokenVerifier(config))
  t.equal((await verify(await keys.sign())).tenant, 'acme', 'a token of the inline key verifies')
  await t.rejects(verify(await (await createTestKeys('other-kid')).sign()), { statusCode: 401, message: 'The access token was signed by an unknown key' })
  t.same(issuer.hits, [], 'the JWKS URL was never asked (a mock-auth at zero is not woken by a function\'s first request)')
  for (const value of ['{', '{"keys":[]}', '[]', '{"keys":["x"]}']) {
    t.throws(() => configuredTokenVerifier({ ...config, AUTH_JWKS_JSON: value }), { message: /AUTH_JWKS_JSON: not a JWK set/ }, value)
  }
})
