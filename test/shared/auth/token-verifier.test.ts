import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { remoteKeySet, type Jwk, type RemoteKeySetOptions } from '../../../shared/auth/key-set.ts'
import { configuredTokenVerifier, createTokenVerifier } from '../../../shared/auth/token-verifier.ts'
import { loadConfig } from '../../../shared/config.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, verifierProbe, type TestKeys } from '../../support/tokens.ts'

/**
 * The verifier on its own: keys from a JWKS served over HTTP through remoteKeySet (what every
 * deployed function and the local gateway use), and what each refusal says.
 */

const now = () => Math.floor(Date.now() / 1000)

/** An issuer's JWKS endpoint whose key set can change (rotation), counting what it is asked. */
async function jwksEndpoint (t: Test, keys: { keys: Jwk[] }, answer?: (request: IncomingMessage, response: ServerResponse) => void) {
  const served = { keys: [...keys.keys] }
  const hits: string[] = []
  const server = createServer((request, response) => {
    hits.push(request.url ?? '')
    if (answer) return answer(request, response)
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(served))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/jwks`, served, hits }
}

async function remoteVerifier (t: Test, url: string, options: RemoteKeySetOptions = {}) {
  return verifierProbe(t, createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: remoteKeySet(url, options), clockToleranceSeconds: 30 }))
}

t.test('keys come from the configured JWKS URL, fetched once and then cached', async (t) => {
  const keys = await createTestKeys()
  const issuer = await jwksEndpoint(t, keys.jwks)
  const verify = await remoteVerifier(t, issuer.url)
  for (let i = 0; i < 5; i++) t.equal((await verify(await keys.sign({ jti: `token-${i}` }))).tokenId, `token-${i}`)
  t.same(issuer.hits, ['/oauth2/jwks'], 'one fetch of the configured path for five tokens of one key')
})

t.test('rotation: a kid the issuer added later is fetched and accepted; the old key keeps working', async (t) => {
  const older = await createTestKeys('key-1')
  const newer = await createTestKeys('key-2')
  const issuer = await jwksEndpoint(t, older.jwks)
  const verify = await remoteVerifier(t, issuer.url)
  t.equal((await verify(await older.sign())).tenant, 'acme')
  issuer.served.keys.push(...newer.jwks.keys)
  t.equal((await verify(await newer.sign())).tenant, 'acme', 'the new key verifies after one more fetch')
  t.equal((await verify(await older.sign())).tenant, 'acme', 'the old key is still cached')
  t.equal(issuer.hits.length, 2)
})

t.test('made-up kids cost the issuer one fetch, not one each (cooldown after a miss)', async (t) => {
  const genuine = await createTestKeys('genuine')
  const issuer = await jwksEndpoint(t, genuine.jwks)
  const verify = await remoteVerifier(t, issuer.url)
  await verify(await genuine.sign())
  const strangers = await Promise.all(Array.from({ length: 10 }, (_, i) => createTestKeys(`made-up-${i}`)))
  for (const stranger of strangers) {
    await t.rejects(verify(await stranger.sign()), { statusCode: 401, message: 'The access token was signed by an unknown key' })
  }
  t.equal(issuer.hits.length, 2, 'the first unknown kid fetched the set again; the other nine were refused without a fetch')
  t.equal((await verify(await genuine.sign())).tenant, 'acme', 'known keys still verify during the cooldown')
})

t.test('concurrent tokens with unknown kids are looked up one at a time', async (t) => {
  const genuine = await createTestKeys('genuine')
  const issuer = await jwksEndpoint(t, genuine.jwks)
  const keySource = remoteKeySet(issuer.url)
  const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => keySource(`burst-${i}`, 'ES256')))
  t.ok(outcomes.every((outcome) => outcome.status === 'rejected'))
  t.equal(issuer.hits.length, 1, 'twenty concurrent unknown kids, one fetch')
})

t.test('an issuer that does not answer fails the token within the timeout (401, retry later), and is asked again next time', async (t) => {
  const keys = await createTestKeys()
  let hang = true
  const issuer = await jwksEndpoint(t, keys.jwks, (_request, response) => {
    if (hang) return
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(keys.jwks))
  })
  const verify = await remoteVerifier(t, issuer.url, { timeoutMs: 200 })
  const started = Date.now()
  await t.rejects(verify(await keys.sign()), { statusCode: 401, message: 'The issuer\'s keys could not be loaded; retry later' })
  t.ok(Date.now() - started < 2000, `refused after ${Date.now() - started} ms`)
  hang = false
  t.equal((await verify(await keys.sign())).tenant, 'acme', 'once the issuer answers, the key is fetched again')
})

t.test('an issuer answering garbage is 401 retry later, never a 500', async (t) => {
  const keys = await createTestKeys()
  const issuer = await jwksEndpoint(t, keys.jwks, (_request, response) => response.end('<html>down for maintenance</html>'))
  const verify = await remoteVerifier(t, issuer.url)
  await t.rejects(verify(await keys.sign()), { statusCode: 401, message: 'The issuer\'s keys could not be loaded; retry later' })
})

t.test('an issuer answering non-200, a redirect, an empty key set or an oversized body is 401 retry later, and none is cached', async (t) => {
  const keys = await createTestKeys()
  const elsewhere = await jwksEndpoint(t, keys.jwks)
  const answers: Array<[string, (response: ServerResponse) => void]> = [
    ['503', (response) => response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify(keys.jwks))],
    ['a 302 to a JWKS that holds the key: never followed', (response) => response.writeHead(302, { location: elsewhere.url }).end()],
    ['no keys', (response) => response.end('{"keys":[]}')],
    ['JSON that is not a key set', (response) => response.end('null')],
    ['a 300 KB body', (response) => response.end(JSON.stringify({ ...keys.jwks, padding: 'x'.repeat(300 * 1024) }))],
    ['a 300 KB body without content-length', (response) => {
      response.write(JSON.stringify(keys.jwks).slice(0, -1))
      response.end(`, "padding": "${'x'.repeat(300 * 1024)}"}`)
    }]
  ]
  for (const [name, answer] of answers) {
    let healthy = false
    const issuer = await jwksEndpoint(t, keys.jwks, (_request, response) => {
      if (!healthy) return answer(response)
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify(keys.jwks))
    })
    const verify = await remoteVerifier(t, issuer.url)
    await t.rejects(verify(await keys.sign()), { statusCode: 401, message: 'The issuer\'s keys could not be loaded; retry later' }, name)
    healthy = true
    t.equal((await verify(await keys.sign())).tenant, 'acme', `${name}: the next token asks again`)
  }
  t.same(elsewhere.hits, [], 'the redirect target was never asked')
})

t.test('a new kid while the issuer is down is retry later, not an unknown key, and is not held back by the cooldown', async (t) => {
  const older = await createTestKeys('key-1')
  const newer = await createTestKeys('key-2')
  let down = false
  let rotated = false
  const issuer = await jwksEndpoint(t, older.jwks, (_request, response) => {
    if (down) return response.writeHead(503).end()
    response.end(JSON.stringify({ keys: [...older.jwks.keys, ...(rotated ? newer.jwks.keys : [])] }))
  })
  const verify = await remoteVerifier(t, issuer.url)
  t.equal((await verify(await older.sign())).tenant, 'acme')
  down = true
  await t.rejects(verify(await newer.sign()), { statusCode: 401, message: 'The issuer\'s keys could not be loaded; retry later' })
  t.equal((await verify(await older.sign())).tenant, 'acme', 'the cached key still verifies')
  down = false
  rotated = true
  t.equal((await verify(await newer.sign())).tenant, 'acme', 'once the issuer answers, the next token fetches at once')
  t.equal(issuer.hits.length, 3)
})

t.test('while the issuer is down, the last key set keeps serving for one more cache period', async (t) => {
  const keys = await createTestKeys()
  let down = false
  const issuer = await jwksEndpoint(t, keys.jwks, (_request, response) => {
    if (down) return response.writeHead(503).end()
    response.end(JSON.stringify(keys.jwks))
  })
  const keySource = remoteKeySet(issuer.url, { cacheMaxAgeMs: 100 })
  const kid = keys.jwks.keys[0]!.kid!
  t.equal((await keySource(kid, 'ES256')).kid, kid)
  down = true
  await new Promise((resolve) => setTimeout(resolve, 120))
  t.equal((await keySource(kid, 'ES256')).kid, kid, 'expired, refresh failed: the previous set answers')
  t.equal(issuer.hits.length, 2, 'the refresh was tried')
  await new Promise((resolve) => setTimeout(resolve, 100))
  await t.rejects(keySource(kid, 'ES256'), { message: /retry later|503/ }, 'past twice the cache period: no key')
})

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
