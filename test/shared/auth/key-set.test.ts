import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { remoteKeySet } from '../../../shared/auth/key-set.ts'
import { jwksEndpoint, remoteVerifier } from '../../support/jwks-endpoint.ts'
import { createTestKeys } from '../../support/tokens.ts'

/** The issuer's key set (remoteKeySet) as the token verifier uses it: fetched, cached, rotated, refused. */

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


t.test('an API server as the issuer: the JWKS over https with its own CA file, asked with a bearer token read at each fetch', async (t) => {
  // A Kubernetes API server publishes its service-account keys at /openid/v1/jwks to service
  // accounts (system:service-account-issuer-discovery), under a certificate of the cluster CA.
  const dir = mkdtempSync(join(tmpdir(), 'security-records-key-set-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const generated = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.crt')])
  if (generated.error || generated.status !== 0) return t.fail(`openssl could not make a certificate: ${generated.stderr}`)
  const keys = await createTestKeys()
  const seen: Array<string | undefined> = []
  const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.crt')) }, (request, response) => {
    seen.push(request.headers.authorization)
    if (request.headers.authorization !== 'Bearer service-account-token-2') return response.writeHead(401).end()
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(keys.jwks))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/openid/v1/jwks`
  writeFileSync(join(dir, 'token'), 'service-account-token-1\n')

  const untrusting = await remoteVerifier(t, url, { tokenFile: join(dir, 'token') })
  await t.rejects(untrusting(await keys.sign()), { statusCode: 401, message: /retry later/ }, 'without the CA file the certificate is refused (the token fails, retry later)')
  t.same(seen, [], 'and nothing reached the server')

  const verify = await remoteVerifier(t, url, { caFile: join(dir, 'ca.crt'), tokenFile: join(dir, 'token'), cooldownMs: 0 })
  await t.rejects(verify(await keys.sign()), { statusCode: 401, message: /retry later/ }, 'the CA trusted, a token the server refuses: no keys')
  writeFileSync(join(dir, 'token'), 'service-account-token-2\n')
  t.equal((await verify(await keys.sign())).tenant, 'acme', 'the rotated token, read again at the next fetch, is accepted')
  t.same(seen, ['Bearer service-account-token-1', 'Bearer service-account-token-2'], 'the file\'s token as a bearer token, trimmed')
})
