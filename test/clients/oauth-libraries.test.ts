/**
 * The mock authorization server through OAuth client libraries nobody here wrote — `openid-client`
 * and `oauth4webapi` (both by panva, certified OpenID implementations) — against the running local
 * stack over HTTP: discovery, the client credentials grant with both client authentication
 * methods, introspection, revocation, and RFC 9068 access token validation.
 */
import t from 'tap'
import * as client from 'openid-client'
import * as oauth from 'oauth4webapi'
import { startLocalStack } from '../../local-dev/stack.ts'

const API_AUDIENCE = 'security-records-api'
const ADMIN = { id: 'local-admin', secret: 'local-admin-secret' }

const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
t.teardown(() => stack.close())
// The local issuer is the stack's loopback origin: plain http, which both libraries refuse unless told.
const issuer = new URL(stack.url)
const insecure = { [oauth.allowInsecureRequests]: true }

const listRecords = (accessToken: string) => fetch(`${stack.url}/v1/records?limit=1`, { headers: { authorization: `Bearer ${accessToken}` } })

t.test('openid-client', async (t) => {
  const discover = (clientAuth: client.ClientAuth, algorithm: 'oauth2' | 'oidc' = 'oauth2', credentials = ADMIN) =>
    client.discovery(issuer, credentials.id, undefined, clientAuth, { algorithm, execute: [client.allowInsecureRequests] })

  t.test('discovers the server from RFC 8414 metadata', async (t) => {
    const config = await discover(client.ClientSecretBasic(ADMIN.secret))
    const metadata = config.serverMetadata()
    t.equal(metadata.issuer, stack.url)
    t.equal(metadata.token_endpoint, `${stack.url}/oauth2/token`)
    t.same(metadata.grant_types_supported, ['client_credentials', 'authorization_code'], 'people sign in with the code grant (PKCE) where local users exist')
    t.same(metadata.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post'])
    t.ok(metadata.introspection_endpoint && metadata.revocation_endpoint && metadata.jwks_uri)
  })

  t.test('OpenID Connect discovery finds no OpenID Provider: /.well-known/openid-configuration is a 404', async (t) => {
    await t.rejects(discover(client.ClientSecretBasic(ADMIN.secret), 'oidc'), { code: 'OAUTH_RESPONSE_IS_NOT_CONFORM', cause: { status: 404 } })
  })

  for (const [method, clientAuth] of [['client_secret_basic', client.ClientSecretBasic(ADMIN.secret)], ['client_secret_post', client.ClientSecretPost(ADMIN.secret)]] as const) {
    t.test(`client credentials with ${method}: a Bearer token the API accepts; another introspected active, revoked, then refused`, async (t) => {
      const config = await discover(clientAuth)
      const token = await client.clientCredentialsGrant(config, { scope: 'records:read records:write', resource: API_AUDIENCE })
      t.equal(token.token_type, 'bearer', 'token_type, normalised to lower case by the library')
      t.equal(token.scope, 'records:read records:write')
      t.ok(token.expires_in && token.expires_in > 0 && token.expires_in <= 3600, `expires_in ${token.expires_in}`)
      t.equal((await listRecords(token.access_token)).status, 200, 'the records API accepts the token')

      // A token the API has not seen yet: it caches a "not revoked" answer for REVOCATION_CACHE_MS.
      const revoked = await client.clientCredentialsGrant(config, { scope: 'records:read records:write' })

      const active = await client.tokenIntrospection(config, revoked.access_token)
      t.match(active, { active: true, client_id: ADMIN.id, scope: 'records:read records:write', aud: API_AUDIENCE, iss: stack.url, tenant: 'local' })

      await client.tokenRevocation(config, revoked.access_token)
      t.same(await client.tokenIntrospection(config, revoked.access_token), { active: false }, 'introspection: no longer active')
      t.equal((await listRecords(revoked.access_token)).status, 401, 'the records API refuses the revoked token')
    })
  }

  t.test('a wrong secret is a 401 with the Basic challenge of RFC 6749 §5.2 (invalid_client), which the library surfaces', async (t) => {
    const config = await discover(client.ClientSecretBasic('not-the-secret'))
    const error = await client.clientCredentialsGrant(config).catch((caught: unknown) => caught) as client.WWWAuthenticateChallengeError
    t.equal(error.code, 'OAUTH_WWW_AUTHENTICATE_CHALLENGE')
    t.equal(error.status, 401)
    t.match(error.cause, [{ scheme: 'basic' }])
    t.match(await error.response.json(), { error: 'invalid_client' })
  })

  t.test('a scope the client does not have is invalid_scope', async (t) => {
    const config = await discover(client.ClientSecretPost(ADMIN.secret))
    const error = await client.clientCredentialsGrant(config, { scope: 'records:admin' }).catch((caught: unknown) => caught) as client.ResponseBodyError
    t.match({ code: error.code, error: error.error, status: error.status }, { code: 'OAUTH_RESPONSE_BODY_ERROR', error: 'invalid_scope', status: 400 })
  })
})

t.test('oauth4webapi', async (t) => {
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
  const admin: oauth.Client = { client_id: ADMIN.id }

  t.test('discovers the server from RFC 8414 metadata, and finds no OpenID Provider metadata', async (t) => {
    t.equal(as.issuer, stack.url)
    t.equal(as.jwks_uri, `${stack.url}/oauth2/jwks`)
    const oidc = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure })
    t.equal(oidc.status, 404, '/.well-known/openid-configuration')
    await t.rejects(oauth.processDiscoveryResponse(issuer, oidc), { code: 'OAUTH_RESPONSE_IS_NOT_CONFORM' })
  })

  for (const [method, clientAuth] of [['client_secret_basic', oauth.ClientSecretBasic(ADMIN.secret)], ['client_secret_post', oauth.ClientSecretPost(ADMIN.secret)]] as const) {
    t.test(`client credentials with ${method}, introspection and revocation`, async (t) => {
      const granted = await oauth.processClientCredentialsResponse(as, admin,
        await oauth.clientCredentialsGrantRequest(as, admin, clientAuth, new URLSearchParams({ scope: 'records:read' }), insecure))
      t.equal(granted.token_type, 'bearer')
      t.equal(granted.scope, 'records:read')

      const introspected = await oauth.processIntrospectionResponse(as, admin, await oauth.introspectionRequest(as, admin, clientAuth, granted.access_token, insecure))
      t.match(introspected, { active: true, client_id: ADMIN.id, scope: 'records:read', sub: ADMIN.id, token_type: 'Bearer' })

      const revoked = await oauth.revocationRequest(as, admin, clientAuth, granted.access_token, insecure)
      t.equal(revoked.status, 200)
      t.equal(await oauth.processRevocationResponse(revoked), undefined, 'RFC 7009: an empty 200')
      const after = await oauth.processIntrospectionResponse(as, admin, await oauth.introspectionRequest(as, admin, clientAuth, granted.access_token, insecure))
      t.same(after, { active: false })
    })
  }

  t.test('validateJwtAccessToken accepts the access token as an RFC 9068 JWT for the records API', async (t) => {
    const clientAuth = oauth.ClientSecretPost(ADMIN.secret)
    const { access_token: accessToken } = await oauth.processClientCredentialsResponse(as, admin,
      await oauth.clientCredentialsGrantRequest(as, admin, clientAuth, new URLSearchParams({ resource: API_AUDIENCE }), insecure))
    const request = new Request(`${stack.url}/v1/records`, { headers: { authorization: `Bearer ${accessToken}` } })

    // RFC 9068 §4: typ at+jwt, an asymmetric signature from the JWKS, and iss, exp, aud, sub, client_id, iat, jti.
    const claims = await oauth.validateJwtAccessToken(as, request, API_AUDIENCE, { signingAlgorithms: ['ES256', 'RS256'], ...insecure })
    t.match(claims, { iss: stack.url, aud: API_AUDIENCE, sub: ADMIN.id, client_id: ADMIN.id, scope: 'records:read records:write records:delete', tenant: 'local' })
    t.ok(claims.exp - claims.iat <= 3600, `lifetime ${claims.exp - claims.iat} s`)
    t.type(claims.jti, 'string')

    await t.rejects(oauth.validateJwtAccessToken(as, request, 'urn:example:other-api', insecure), { code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' }, 'another audience is refused')
    const [header, payload, signature] = accessToken.split('.')
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'records:admin' })).toString('base64url')}.${signature}`
    const forgedRequest = new Request(request, { headers: { authorization: `Bearer ${forged}` } })
    t.not(payload, forged.split('.')[1])
    await t.rejects(oauth.validateJwtAccessToken(as, forgedRequest, API_AUDIENCE, insecure), { code: 'OAUTH_INVALID_RESPONSE', message: 'JWT signature verification failed' }, 'a changed claim breaks the signature')
  })
})
