import t from 'tap'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { hashClientSecret } from '../../../functions/mock-auth/client-secret.ts'
import { oauthPaths } from '../../../functions/mock-auth/endpoints.ts'
import { basic, buildMockAuth, form, FORM_TYPE, LOCAL_ISSUER, localClients, localSecrets } from './harness.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const CHALLENGE = 'Basic realm="security-records"'
const clientCredentials = { grant_type: 'client_credentials' }

t.test('client_secret_basic: 200 with a Bearer token, all the client\'s scopes, never cached', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.post(oauthPaths.token, clientCredentials, 'local-admin')

  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  t.equal(response.headers['cache-control'], 'no-store')
  t.equal(response.headers.pragma, 'no-cache')
  const body = response.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
  t.match(body, { token_type: 'Bearer', expires_in: 600, scope: 'records:read records:write records:delete' })
})

t.test('the token is an RFC 9068 JWT: exactly the specified header and claims, verifiable with the JWKS', async (t) => {
  const auth = await buildMockAuth(t)
  const before = Math.floor(Date.now() / 1000)
  const token = await auth.token('local-reader')

  t.same(decodeProtectedHeader(token), { alg: 'ES256', typ: 'at+jwt', kid: auth.signingKeys.signer.kid })
  const claims = decodeJwt(token)
  t.same(Object.keys(claims).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub', 'tenant'])
  t.match(claims, { iss: LOCAL_ISSUER, sub: 'local-reader', aud: 'security-records-api', client_id: 'local-reader', scope: 'records:read', tenant: 'local' })
  t.match(claims.jti, UUID)
  t.ok(claims.iat! >= before && claims.iat! <= before + 5, 'issued now')
  t.equal(claims.exp! - claims.iat!, 600, 'default lifetime 600 s')

  const jwks = (await auth.app.inject({ url: oauthPaths.jwks })).json()
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: LOCAL_ISSUER, audience: 'security-records-api', typ: 'at+jwt', algorithms: ['ES256'] })
  t.equal(payload.sub, 'local-reader')
})

t.test('every token has its own jti', async (t) => {
  const auth = await buildMockAuth(t)
  const ids = new Set(await Promise.all([1, 2, 3].map(async () => decodeJwt(await auth.token()).jti)))
  t.equal(ids.size, 3)
})

t.test('client_secret_post: client_id and client_secret in the form', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.app.inject({
    method: 'POST', url: oauthPaths.token, headers: FORM_TYPE,
    payload: form({ ...clientCredentials, client_id: 'local-other', client_secret: 'local-other-secret' })
  })
  t.equal(response.statusCode, 200)
  t.match(decodeJwt(response.json().access_token), { client_id: 'local-other', tenant: 'other' })
})

t.test('client_secret_basic form-urlencodes id and secret before base64 (RFC 6749 §2.3.1)', async (t) => {
  const secret = 'p@ss:w+rd %/é'
  const clients = [{ client_id: 'svc:odd id', client_secret_hash: await hashClientSecret(secret), scopes: ['records:read' as const], tenant: 'acme', audiences: ['security-records-api'] }]
  const auth = await buildMockAuth(t, { clients })
  const encoded = await auth.app.inject({ method: 'POST', url: oauthPaths.token, headers: { ...FORM_TYPE, authorization: basic('svc:odd id', secret) }, payload: form(clientCredentials) })
  t.equal(encoded.statusCode, 200)
  t.equal(decodeJwt(encoded.json().access_token).client_id, 'svc:odd id')

  const raw = `Basic ${Buffer.from(`svc:odd id:${secret}`).toString('base64')}`
  const unencoded = await auth.app.inject({ method: 'POST', url: oauthPaths.token, headers: { ...FORM_TYPE, authorization: raw }, payload: form(clientCredentials) })
  t.equal(unencoded.statusCode, 401, 'the first colon separates id and secret')
})

t.test('scope: a subset of the client\'s scopes, answered in canonical order', async (t) => {
  const auth = await buildMockAuth(t)
  const one = await auth.post(oauthPaths.token, { ...clientCredentials, scope: 'records:read' })
  t.equal(one.json().scope, 'records:read')
  t.equal(decodeJwt(one.json().access_token).scope, 'records:read')

  const two = await auth.post(oauthPaths.token, { ...clientCredentials, scope: 'records:delete  records:read records:read' })
  t.equal(two.json().scope, 'records:read records:delete')
})

t.test('resource: one of the client\'s audiences becomes the token\'s aud (RFC 8707)', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.post(oauthPaths.token, { ...clientCredentials, resource: 'urn:example:other-api' })
  t.equal(response.statusCode, 200)
  t.equal(decodeJwt(response.json().access_token).aud, 'urn:example:other-api')
})

t.test('the client\'s token lifetime applies', async (t) => {
  const clients = (await localClients()).map((client) => ({ ...client, token_lifetime_seconds: 3600 }))
  const auth = await buildMockAuth(t, { clients })
  const response = await auth.post(oauthPaths.token, clientCredentials)
  t.equal(response.json().expires_in, 3600)
  const claims = decodeJwt(response.json().access_token)
  t.equal(claims.exp! - claims.iat!, 3600)
})

t.test('client authentication failures are 401 invalid_client with a Basic challenge, alike for unknown ids', async (t) => {
  const auth = await buildMockAuth(t)
  const send = (headers: Record<string, string>, parameters: Record<string, string> = clientCredentials) =>
    auth.app.inject({ method: 'POST', url: oauthPaths.token, headers: { ...FORM_TYPE, ...headers }, payload: form(parameters) })

  const cases: Array<[string, Awaited<ReturnType<typeof send>>]> = [
    ['wrong secret (basic)', await send({ authorization: basic('local-admin', 'local-reader-secret') })],
    ['unknown client (basic)', await send({ authorization: basic('nobody', 'local-admin-secret') })],
    ['wrong secret (post)', await send({}, { ...clientCredentials, client_id: 'local-admin', client_secret: 'wrong' })],
    ['unknown client (post)', await send({}, { ...clientCredentials, client_id: 'nobody', client_secret: 'wrong' })],
    ['no client authentication', await send({})],
    ['client_id without a secret', await send({}, { ...clientCredentials, client_id: 'local-admin' })],
    ['Bearer instead of Basic', await send({ authorization: 'Bearer abc.def.ghi' })],
    ['Basic without a colon', await send({ authorization: `Basic ${Buffer.from('local-admin').toString('base64')}` })],
    ['Basic with bad percent-encoding', await send({ authorization: `Basic ${Buffer.from('local-admin:%E0%A4%A').toString('base64')}` })]
  ]
  for (const [name, response] of cases) {
    t.equal(response.statusCode, 401, name)
    t.equal(response.headers['www-authenticate'], CHALLENGE, name)
    t.equal(response.headers['cache-control'], 'no-store', name)
    t.match(response.headers['content-type'], /^application\/json/, name)
    t.equal(response.json().error, 'invalid_client', name)
  }
  t.same(cases[0]![1].json(), cases[1]![1].json(), 'an unknown id reads exactly like a wrong secret')
})

t.test('an unknown client id costs the same scrypt work as a wrong secret (no timing oracle)', async (t) => {
  const auth = await buildMockAuth(t)
  const time = async (clientId: string) => {
    const samples: number[] = []
    for (let i = 0; i < 5; i++) {
      const started = process.hrtime.bigint()
      await auth.app.inject({ method: 'POST', url: oauthPaths.token, headers: { ...FORM_TYPE, authorization: basic(clientId, 'wrong') }, payload: form(clientCredentials) })
      samples.push(Number(process.hrtime.bigint() - started))
    }
    return samples.sort((a, b) => a - b)[2]!
  }
  const known = await time('local-admin')
  const unknown = await time('no-such-client')
  t.ok(unknown > known / 2 && unknown < known * 2, `median ${(unknown / 1e6).toFixed(1)} ms (unknown) vs ${(known / 1e6).toFixed(1)} ms (known)`)
})

t.test('request errors are 400 RFC 6749 JSON naming the problem', async (t) => {
  const auth = await buildMockAuth(t)
  const admin = basic('local-admin', localSecrets['local-admin']!)
  const reader = basic('local-reader', localSecrets['local-reader']!)
  const cases: Array<{ name: string, authorization?: string, payload: string, error: string, description: RegExp }> = [
    { name: 'missing grant_type', authorization: admin, payload: form({ scope: 'records:read' }), error: 'invalid_request', description: /grant_type/ },
    { name: 'grant_type sent twice', authorization: admin, payload: 'grant_type=client_credentials&grant_type=client_credentials', error: 'invalid_request', description: /grant_type/ },
    { name: 'authorization_code grant by a client without redirect URIs', authorization: admin, payload: form({ grant_type: 'authorization_code', code: 'x' }), error: 'unauthorized_client', description: /redirect URIs/ },
    { name: 'password grant', authorization: admin, payload: form({ grant_type: 'password', username: 'a', password: 'b' }), error: 'unsupported_grant_type', description: /client_credentials/ },
    { name: 'scope outside the client\'s', authorization: reader, payload: form({ ...clientCredentials, scope: 'records:read records:write' }), error: 'invalid_scope', description: /records:write/ },
    { name: 'unknown scope', authorization: admin, payload: form({ ...clientCredentials, scope: 'admin' }), error: 'invalid_scope', description: /admin/ },
    { name: 'resource outside the client\'s', authorization: reader, payload: form({ ...clientCredentials, resource: 'urn:example:other-api' }), error: 'invalid_target', description: /resource/ },
    { name: 'unknown resource', authorization: admin, payload: form({ ...clientCredentials, resource: 'https://evil.example' }), error: 'invalid_target', description: /resource/ },
    {
      name: 'both client authentication methods',
      authorization: admin,
      payload: form({ ...clientCredentials, client_id: 'local-admin', client_secret: 'local-admin-secret' }),
      error: 'invalid_request',
      description: /one client authentication method/
    },
    { name: 'client_id contradicting Basic', authorization: admin, payload: form({ ...clientCredentials, client_id: 'local-reader' }), error: 'invalid_request', description: /client_id/ }
  ]
  for (const { name, authorization, payload, error, description } of cases) {
    const response = await auth.app.inject({ method: 'POST', url: oauthPaths.token, headers: { ...FORM_TYPE, ...(authorization ? { authorization } : {}) }, payload })
    t.equal(response.statusCode, 400, name)
    t.match(response.headers['content-type'], /^application\/json/, name)
    t.equal(response.headers['cache-control'], 'no-store', name)
    const body = response.json()
    t.same(Object.keys(body).sort(), ['error', 'error_description'], name)
    t.equal(body.error, error, name)
    t.match(body.error_description, description, name)
  }
})

t.test('a JSON body is 400 invalid_request: the token endpoint takes form parameters only', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.app.inject({
    method: 'POST', url: oauthPaths.token,
    headers: { 'content-type': 'application/json', authorization: basic('local-admin', 'local-admin-secret') },
    payload: JSON.stringify(clientCredentials)
  })
  t.equal(response.statusCode, 400)
  t.match(response.json(), { error: 'invalid_request', error_description: /application\/x-www-form-urlencoded/ })
})

t.test('a request without a body is 400 invalid_request', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.app.inject({ method: 'POST', url: oauthPaths.token, headers: { authorization: basic('local-admin', 'local-admin-secret') } })
  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'invalid_request')
})

t.test('a form body over 8 KiB is 413 invalid_request, never a 500', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.app.inject({
    method: 'POST', url: oauthPaths.token,
    headers: { ...FORM_TYPE, authorization: basic('local-admin', 'local-admin-secret') },
    payload: form({ ...clientCredentials, scope: 'records:read '.repeat(1000) })
  })
  t.equal(response.statusCode, 413)
  t.match(response.headers['content-type'], /^application\/json/)
  t.equal(response.json().error, 'invalid_request')
})

t.test('unknown parameters are ignored (RFC 6749 §3.2)', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.post(oauthPaths.token, { ...clientCredentials, audience: 'whatever', foo: 'bar' })
  t.equal(response.statusCode, 200)
})
