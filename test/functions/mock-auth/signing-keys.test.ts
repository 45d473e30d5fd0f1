import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import { oauthPaths } from '../../../functions/mock-auth/endpoints.ts'
import { generateSigningKey, loadOrCreateSigningKeys, loadSigningKeys, SIGNING_KEYS_FILE_NAME } from '../../../functions/mock-auth/signing-keys.ts'
import { localKeySet, type Jwk } from '../../../shared/auth/key-set.ts'
import { createTokenVerifier } from '../../../shared/auth/token-verifier.ts'
import { ConfigError } from '../../../shared/config.ts'
import { startTestStore } from '../../support/store.ts'
import { verifierProbe } from '../../support/tokens.ts'
import { buildMockAuth, LOCAL_ISSUER } from './harness.ts'

const verifierFor = (t: Test, jwks: { keys: Jwk[] }) =>
  verifierProbe(t, createTokenVerifier({ issuer: LOCAL_ISSUER, audience: 'security-records-api', keys: localKeySet(jwks), clockToleranceSeconds: 0 }))

t.test('key rotation: the newest key signs, both are published, a token of the older key still verifies', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const older = await generateSigningKey()
  const newer = await generateSigningKey()
  const before = await buildMockAuth(t, { store, signingKeys: await loadSigningKeys({ keys: [older] }) })
  const oldToken = await before.token()

  const after = await buildMockAuth(t, { store, signingKeys: await loadSigningKeys({ keys: [older, newer] }) })
  const jwks = (await after.app.inject({ url: oauthPaths.jwks })).json()
  t.same(jwks.keys.map((key: { kid: string }) => key.kid), [older.kid, newer.kid])

  const newToken = await after.token()
  t.equal(decodeProtectedHeader(newToken).kid, newer.kid, 'the last key of the set signs')
  t.equal(decodeProtectedHeader(oldToken).kid, older.kid)

  const verify = await verifierFor(t, jwks)
  t.equal((await verify(oldToken)).clientId, 'local-admin', 'the older key\'s token verifies through the published JWKS')
  t.equal((await verify(newToken)).clientId, 'local-admin')
  t.equal((await after.post(oauthPaths.introspection, { token: oldToken })).json().active, true)
})

t.test('RS256 keys work too: a 2048-bit RSA key signs tokens the records API verifies', async (t) => {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
  const auth = await buildMockAuth(t, { signingKeys: await loadSigningKeys({ keys: [{ ...(await exportJWK(privateKey)), kid: 'rsa-1' }] }) })
  const token = await auth.token()
  t.same(decodeProtectedHeader(token), { alg: 'RS256', typ: 'at+jwt', kid: 'rsa-1' })
  const jwks = (await auth.app.inject({ url: oauthPaths.jwks })).json()
  t.same(Object.keys(jwks.keys[0]).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use'])
  t.equal((await (await verifierFor(t, jwks))(token)).tenant, 'local')
})

t.test('a key without kid gets its RFC 7638 thumbprint', async (t) => {
  const { kid, ...withoutKid } = await generateSigningKey()
  const keys = await loadSigningKeys({ keys: [withoutKid] })
  t.equal(keys.signer.kid, kid)
})

t.test('unusable key sets fail fast, naming the key but never its private members', async (t) => {
  const good = await generateSigningKey()
  const other = await generateSigningKey()
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' })
  const cases: Array<[string, unknown, RegExp]> = [
    ['no keys', { keys: [] }, /\/keys/],
    ['not a key set', [good], /signing keys/],
    ['public key only', { keys: [{ ...good, d: undefined }] }, /\/keys\/0/],
    ['symmetric key', { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hs' }] }, /\/keys\/0/],
    ['P-384 curve', { keys: [{ ...good, crv: 'P-384' }] }, /\/keys\/0/],
    ['halves of different keys', { keys: [{ ...good, d: other.d }] }, /\/keys\/0 is not a usable ES256 key pair/],
    ['repeated kid', { keys: [good, { ...other, kid: good.kid }] }, /\/keys\/1 repeats the kid/],
    ['RSA key under 2048 bits', { keys: [{ ...rsa1024, kid: 'small' }] }, /shorter than 2048 bits/]
  ]
  for (const [name, document, message] of cases) {
    const error = await loadSigningKeys(document).then(() => undefined, (caught: unknown) => caught as Error)
    t.type(error, ConfigError, name)
    t.match(error?.message, message, name)
    t.notMatch(error?.message, good.d!, `${name}: the private key is not in the message`)
    t.notMatch(error?.message, other.d!, `${name}: the private key is not in the message`)
  }
})

t.test('loadOrCreateSigningKeys creates <dataDir>/signing-keys.json with mode 0600, then reuses it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'mock-auth-keys-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dataDir = join(root, 'data')
  const created = await loadOrCreateSigningKeys(dataDir)
  const file = join(dataDir, SIGNING_KEYS_FILE_NAME)
  t.equal((await stat(file)).mode & 0o777, 0o600)
  const stored = JSON.parse(await readFile(file, 'utf8'))
  t.match(stored, { keys: [{ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: created.signer.kid }] })
  t.ok(stored.keys[0].d, 'the private key is kept so tokens survive a restart')

  const reloaded = await loadOrCreateSigningKeys(dataDir)
  t.equal(reloaded.signer.kid, created.signer.kid)
  t.same(reloaded.jwks, created.jwks)
})

t.test('loadOrCreateSigningKeys started twice at once ends with one key', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mock-auth-keys-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const [first, second] = await Promise.all([loadOrCreateSigningKeys(dataDir), loadOrCreateSigningKeys(dataDir)])
  t.equal(first.signer.kid, second.signer.kid)
})

t.test('loadOrCreateSigningKeys(":memory:") writes nothing', async (t) => {
  const keys = await loadOrCreateSigningKeys(':memory:')
  t.equal(keys.jwks.keys.length, 1)
  await t.rejects(stat(join(':memory:', SIGNING_KEYS_FILE_NAME)), { code: 'ENOENT' })
})

t.test('a corrupt key file is a clear error, not a silently replaced key', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mock-auth-keys-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  await writeFile(join(dataDir, SIGNING_KEYS_FILE_NAME), '{ not json')
  await t.rejects(loadOrCreateSigningKeys(dataDir), { name: 'ConfigError', message: /not valid JSON/ })
})

t.test('tokens of a key that was dropped from the set no longer verify', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const retired = await generateSigningKey()
  const current = await generateSigningKey()
  const before = await buildMockAuth(t, { store, signingKeys: await loadSigningKeys({ keys: [retired] }) })
  const token = await before.token()
  const after = await buildMockAuth(t, { store, signingKeys: await loadSigningKeys({ keys: [current] }) })
  t.same((await after.post(oauthPaths.introspection, { token })).json(), { active: false })
  const jwks = (await after.app.inject({ url: oauthPaths.jwks })).json()
  await t.rejects(jwtVerify(token, createLocalJWKSet(jwks)), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
})
