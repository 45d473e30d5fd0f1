import t from 'tap'
import { decodeJwt } from 'jose'
import { oauthPaths } from '../../../functions/mock-auth/endpoints.ts'
import { createTestKeys } from '../../support/tokens.ts'
import { basic, buildMockAuth, form, FORM_TYPE, LOCAL_ISSUER } from './harness.ts'

t.test('an active token of the caller\'s tenant: every RFC 7662 member, never cached', async (t) => {
  const auth = await buildMockAuth(t)
  const token = await auth.token('local-admin', { scope: 'records:read records:write' })
  const response = await auth.post(oauthPaths.introspection, { token }, 'local-reader')

  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'no-store')
  t.equal(response.headers.pragma, 'no-cache')
  const claims = decodeJwt(token)
  t.same(response.json(), {
    active: true,
    scope: 'records:read records:write',
    client_id: 'local-admin',
    sub: 'local-admin',
    aud: 'security-records-api',
    iss: LOCAL_ISSUER,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    tenant: 'local',
    token_type: 'Bearer'
  })
})

t.test('client_secret_post works for introspection too, and token_type_hint is accepted', async (t) => {
  const auth = await buildMockAuth(t)
  const token = await auth.token('local-other')
  const response = await auth.app.inject({
    method: 'POST', url: oauthPaths.introspection, headers: FORM_TYPE,
    payload: form({ token, token_type_hint: 'access_token', client_id: 'local-other', client_secret: 'local-other-secret' })
  })
  t.equal(response.statusCode, 200)
  t.equal(response.json().active, true)
})

t.test('another tenant\'s token is inactive to the caller: {active:false} and nothing else', async (t) => {
  const auth = await buildMockAuth(t)
  const token = await auth.token('local-admin')
  const response = await auth.post(oauthPaths.introspection, { token }, 'local-other')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { active: false })
})

t.test('forged, malformed and foreign tokens are inactive', async (t) => {
  const auth = await buildMockAuth(t)
  const foreignKey = await createTestKeys(auth.signingKeys.signer.kid)
  const genuine = decodeJwt(await auth.token())
  const cases: Record<string, string> = {
    'garbage': 'not-a-token',
    'same claims, signed by another key with our kid': await foreignKey.sign({ ...genuine, iss: LOCAL_ISSUER }),
    'another issuer': await foreignKey.sign({ iss: 'https://elsewhere.example' })
  }
  for (const [name, token] of Object.entries(cases)) {
    const response = await auth.post(oauthPaths.introspection, { token })
    t.same(response.json(), { active: false }, name)
  }
})

t.test('an expired token is inactive', async (t) => {
  let offsetMs = 0
  const auth = await buildMockAuth(t, { now: () => new Date(Date.now() + offsetMs) })
  const token = await auth.token('local-admin')
  offsetMs = 601_000
  const response = await auth.post(oauthPaths.introspection, { token })
  t.same(response.json(), { active: false })
})

t.test('a revoked token is inactive', async (t) => {
  const auth = await buildMockAuth(t)
  const token = await auth.token('local-admin')
  const claims = decodeJwt(token)
  await auth.revocations.revoke(LOCAL_ISSUER, claims.jti!, claims.exp!)
  const response = await auth.post(oauthPaths.introspection, { token })
  t.same(response.json(), { active: false })
})

t.test('introspection needs client authentication: 401 invalid_client, and the token is not checked', async (t) => {
  const auth = await buildMockAuth(t)
  const token = await auth.token()
  const commandsBefore = auth.store.commands.length
  for (const headers of [{}, { authorization: basic('local-admin', 'wrong') }, { authorization: `Bearer ${token}` }]) {
    const response = await auth.app.inject({ method: 'POST', url: oauthPaths.introspection, headers: { ...FORM_TYPE, ...headers }, payload: form({ token }) })
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], 'Basic realm="security-records"')
    t.equal(response.json().error, 'invalid_client')
  }
  t.equal(auth.store.commands.length, commandsBefore, 'nothing was looked up for an unauthenticated caller')
})

t.test('introspection without a token parameter is 400 invalid_request', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.post(oauthPaths.introspection, {})
  t.equal(response.statusCode, 400)
  t.match(response.json(), { error: 'invalid_request', error_description: /token/ })
})
