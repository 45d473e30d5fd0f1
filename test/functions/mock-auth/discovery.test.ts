import t from 'tap'
import { oauthPaths, mockAuthRoutes } from '../../../functions/mock-auth/endpoints.ts'
import { buildMockAuth } from './harness.ts'

const ISSUER = 'http://127.0.0.1:8080'

t.test('RFC 8414 metadata names every endpoint under the issuer, and what the server supports', async (t) => {
  const auth = await buildMockAuth(t, { issuer: ISSUER })
  const response = await auth.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })

  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  t.equal(response.headers['cache-control'], 'public, max-age=300')
  t.same(response.json(), {
    issuer: ISSUER,
    authorization_endpoint: 'http://127.0.0.1:8080/oauth2/authorize',
    token_endpoint: 'http://127.0.0.1:8080/oauth2/token',
    jwks_uri: 'http://127.0.0.1:8080/oauth2/jwks',
    introspection_endpoint: 'http://127.0.0.1:8080/oauth2/introspect',
    revocation_endpoint: 'http://127.0.0.1:8080/oauth2/revoke',
    grant_types_supported: ['client_credentials', 'authorization_code'],
    response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['records:read', 'records:write', 'records:delete'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true
  })
})

t.test('without people to sign in, the metadata names no authorization endpoint and only client credentials', async (t) => {
  const auth = await buildMockAuth(t, { issuer: ISSUER, people: undefined })
  const metadata = (await auth.app.inject({ url: oauthPaths.metadata })).json()
  t.notOk('authorization_endpoint' in metadata)
  t.same(metadata.grant_types_supported, ['client_credentials'])
  t.same(metadata.response_types_supported, [])
  t.equal((await auth.app.inject({ url: oauthPaths.authorization })).statusCode, 404)
})

t.test('/.well-known/openid-configuration is a 404: no ID tokens, so no OpenID Provider Metadata', async (t) => {
  const auth = await buildMockAuth(t, { issuer: ISSUER })
  const openid = await auth.app.inject({ url: '/.well-known/openid-configuration' })
  t.equal(openid.statusCode, 404)
  t.match(openid.headers['content-type'], /^application\/problem\+json/)
  t.notOk(mockAuthRoutes.some((route) => route.path === '/.well-known/openid-configuration'), 'and neither the gateway nor the ingress routes it')
})

t.test('every endpoint the metadata names is answered by the app, and the gateway table lists it', async (t) => {
  const auth = await buildMockAuth(t, { issuer: ISSUER })
  const metadata = (await auth.app.inject({ url: oauthPaths.metadata })).json()
  const named = [metadata.authorization_endpoint, metadata.token_endpoint, metadata.jwks_uri, metadata.introspection_endpoint, metadata.revocation_endpoint].map((url: string) => new URL(url).pathname)
  const routed = new Set(mockAuthRoutes.map((route) => route.path))
  for (const path of named) t.ok(routed.has(path), `${path} is in the routing table`)
  t.ok(routed.has(oauthPaths.metadata))
  t.ok(mockAuthRoutes.every((route) => route.function === 'mock-auth' && !route.authenticated), 'the gateway checks no bearer token on these routes')
  for (const route of mockAuthRoutes) {
    const response = await auth.app.inject({ method: route.method, url: route.path })
    t.not(response.statusCode, 404, `${route.method} ${route.path} exists`)
  }
})

t.test('the JWKS publishes the public key that signs, and nothing private', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.app.inject({ url: oauthPaths.jwks })

  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'public, max-age=300')
  const { keys } = response.json()
  t.equal(keys.length, 1)
  t.same(Object.keys(keys[0]).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
  t.match(keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: auth.signingKeys.signer.kid })
})

t.test('GET /healthz answers 200 when the store does, and unknown paths are problem+json 404s', async (t) => {
  const auth = await buildMockAuth(t)
  const health = await auth.app.inject({ url: '/healthz' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  t.ok(auth.store.commands.some((command) => /^Get(Item)?Command$/.test(command.name)), 'health read the store')

  const missing = await auth.app.inject({ url: '/oauth2/userinfo' })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /^application\/problem\+json/)
})

t.test('GET /healthz is 503 problem+json when the store is down', async (t) => {
  const auth = await buildMockAuth(t, { revocations: { revoke: async () => {}, isRevoked: async () => { throw Object.assign(new Error('down'), { code: 'SR_STORE_UNAVAILABLE', statusCode: 503 }) } } })
  const health = await auth.app.inject({ url: '/healthz' })
  t.equal(health.statusCode, 503)
  t.match(health.headers['content-type'], /^application\/problem\+json/)
  t.equal(health.headers['retry-after'], '1')
})
