import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { decodeJwt } from 'jose'
import { buildMockAuthApp } from '../../../functions/mock-auth/app.ts'
import { CODE_LIFETIME_SECONDS } from '../../../functions/mock-auth/authorization-codes.ts'
import { oauthPaths } from '../../../functions/mock-auth/endpoints.ts'
import { ConfigError } from '../../../shared/config.ts'
import { createRedeemedCodes } from '../../../shared/store/redeemed-codes.ts'
import { aRecord } from '../../support/records-api.ts'
import { basic, buildMockAuth, form, FORM_TYPE, LOCAL_ISSUER, localClients, localPasswords, localSecrets, localUsers, recordsApiTrusting, type MockAuthHarness } from './harness.ts'

const CONSOLE = 'local-console'
const REDIRECT = 'http://127.0.0.1:8080/console/callback'

function pkce () {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

function authorizationRequest (challenge: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const parameters: Record<string, string | undefined> = { response_type: 'code', client_id: CONSOLE, redirect_uri: REDIRECT, state: 'state-123', code_challenge: challenge, code_challenge_method: 'S256', ...overrides }
  return Object.fromEntries(Object.entries(parameters).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

async function signInPost (auth: MockAuthHarness, parameters: Record<string, string>, username = 'local-triager', password = localPasswords[username]!) {
  return auth.app.inject({ method: 'POST', url: oauthPaths.authorization, headers: FORM_TYPE, payload: form({ ...parameters, username, password }) })
}

/** Signs a person in and returns the code the redirect carries, with the PKCE pair used. */
async function codeFor (auth: MockAuthHarness, username = 'local-triager') {
  const { verifier, challenge } = pkce()
  const response = await signInPost(auth, authorizationRequest(challenge), username)
  const location = new URL(response.headers.location as string)
  return { code: location.searchParams.get('code')!, verifier }
}

function exchange (auth: MockAuthHarness, parameters: Record<string, string>, clientId = CONSOLE, secret = localSecrets[clientId]!) {
  return auth.app.inject({ method: 'POST', url: oauthPaths.token, headers: { ...FORM_TYPE, authorization: basic(clientId, secret) }, payload: form({ grant_type: 'authorization_code', redirect_uri: REDIRECT, ...parameters }) })
}

t.test('the authorization endpoint shows a sign-in form that cannot be framed, scripted or cached', async (t) => {
  const auth = await buildMockAuth(t)
  const { challenge } = pkce()
  const response = await auth.app.inject({ url: `${oauthPaths.authorization}?${form(authorizationRequest(challenge))}` })

  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/html/)
  t.equal(response.headers['cache-control'], 'no-store')
  t.match(response.headers['content-security-policy'], /default-src 'none'/)
  t.match(response.headers['content-security-policy'], /frame-ancestors 'none'/)
  t.equal(response.headers['x-frame-options'], 'DENY')
  t.match(response.body, /<form method="post" action="\/oauth2\/authorize">/)
  t.match(response.body, /name="code_challenge" value="[A-Za-z0-9_-]{43}"/)
  t.match(response.body, /<label for="password">/)
  t.notMatch(response.body, /<script/)
})

t.test('a person signs in: 303 to the exact redirect URI with a code, the state and the issuer (RFC 9207)', async (t) => {
  const auth = await buildMockAuth(t)
  const { challenge } = pkce()
  const response = await signInPost(auth, authorizationRequest(challenge))

  t.equal(response.statusCode, 303)
  const location = new URL(response.headers.location as string)
  t.equal(`${location.origin}${location.pathname}`, REDIRECT)
  t.equal(location.searchParams.get('state'), 'state-123')
  t.equal(location.searchParams.get('iss'), LOCAL_ISSUER)
  t.ok(location.searchParams.get('code'))
  t.equal(response.headers['cache-control'], 'no-store')
})

t.test('the code gets the console a token for the person: sub, name, the console as client_id, their tenant and role scopes', async (t) => {
  const auth = await buildMockAuth(t)
  const { code, verifier } = await codeFor(auth)
  const response = await exchange(auth, { code, code_verifier: verifier })

  t.equal(response.statusCode, 200, response.body)
  t.equal(response.headers['cache-control'], 'no-store')
  const body = response.json()
  t.match(body, { token_type: 'Bearer', scope: 'records:read records:write', expires_in: 3600 })
  const claims = decodeJwt(body.access_token)
  t.match(claims, { iss: LOCAL_ISSUER, sub: 'local-triager', name: 'Tess Triager', client_id: CONSOLE, tenant: 'local', aud: 'security-records-api', scope: 'records:read records:write' })

  const api = await recordsApiTrusting(t, auth)
  const created = await api.inject({ method: 'POST', url: '/v1/records', headers: { authorization: `Bearer ${body.access_token}` }, payload: aRecord() })
  t.equal(created.statusCode, 201, 'the records API takes the person\'s token')
  t.equal(created.json().createdBy, 'local-triager', 'and names the person, not the console')
})

t.test('roles become scopes: the viewer reads only, the other tenant\'s person gets their own tenant', async (t) => {
  const auth = await buildMockAuth(t)
  const viewer = await codeFor(auth, 'local-viewer')
  const viewerToken = (await exchange(auth, { code: viewer.code, code_verifier: viewer.verifier })).json()
  t.equal(viewerToken.scope, 'records:read')
  const other = await codeFor(auth, 'other-triager')
  const otherClaims = decodeJwt((await exchange(auth, { code: other.code, code_verifier: other.verifier })).json().access_token)
  t.match(otherClaims, { sub: 'other-triager', tenant: 'other' })
})

t.test('a code is redeemed once: a replay is invalid_grant and revokes the token the first exchange got', async (t) => {
  const auth = await buildMockAuth(t)
  const { code, verifier } = await codeFor(auth)
  const first = await exchange(auth, { code, code_verifier: verifier })
  t.equal(first.statusCode, 200)
  const token = first.json().access_token
  const api = await recordsApiTrusting(t, auth)
  t.equal((await api.inject({ url: '/v1/records', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)

  const replay = await exchange(auth, { code, code_verifier: verifier })
  t.equal(replay.statusCode, 400)
  t.equal(replay.json().error, 'invalid_grant')
  t.ok(await auth.revocations.isRevoked(LOCAL_ISSUER, decodeJwt(token).jti!), 'the first token is on the denylist')
  const introspection = await auth.post(oauthPaths.introspection, { token }, CONSOLE)
  t.same(introspection.json(), { active: false })
})

t.test('a code lives at most 60 s', async (t) => {
  let clock = Date.now()
  const auth = await buildMockAuth(t, { now: () => new Date(clock) })
  const { code, verifier } = await codeFor(auth)
  clock += (CODE_LIFETIME_SECONDS + 1) * 1000
  const response = await exchange(auth, { code, code_verifier: verifier })
  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'invalid_grant')
})

t.test('PKCE: a wrong verifier, no verifier, or a plain verifier equal to the challenge is refused', async (t) => {
  const auth = await buildMockAuth(t)
  const { code, verifier } = await codeFor(auth)
  const wrong = await exchange(auth, { code, code_verifier: pkce().verifier })
  t.match(wrong.json(), { error: 'invalid_grant' })
  const missing = await exchange(auth, { code })
  t.match(missing.json(), { error: 'invalid_request' })
  t.equal(missing.statusCode, 400)

  const { challenge } = pkce()
  const redirect = new URL((await signInPost(auth, authorizationRequest(challenge))).headers.location as string)
  const plainDowngrade = await exchange(auth, { code: redirect.searchParams.get('code')!, code_verifier: challenge })
  t.match(plainDowngrade.json(), { error: 'invalid_grant' }, 'sending the challenge itself as verifier (plain) fails')
  t.equal((await exchange(auth, { code, code_verifier: verifier })).statusCode, 200, 'the refused attempts did not use the code up')
})

t.test('PKCE: the plain method, a missing challenge and a malformed one are refused at the authorization endpoint', async (t) => {
  const auth = await buildMockAuth(t)
  const { challenge, verifier } = pkce()
  for (const [name, overrides, description] of [
    ['plain', { code_challenge_method: 'plain', code_challenge: verifier }, /S256/],
    ['no method', { code_challenge_method: undefined }, /S256/],
    ['no challenge', { code_challenge: undefined, code_challenge_method: undefined }, /PKCE is required/],
    ['short challenge', { code_challenge: 'abc' }, /43 characters/]
  ] as const) {
    const response = await signInPost(auth, authorizationRequest(challenge, overrides))
    t.equal(response.statusCode, 303, name)
    const location = new URL(response.headers.location as string)
    t.equal(location.searchParams.get('error'), 'invalid_request', name)
    t.match(location.searchParams.get('error_description'), description, name)
    t.equal(location.searchParams.get('state'), 'state-123', name)
    t.notOk(location.searchParams.get('code'), `${name}: no code`)
  }
})

t.test('the code is bound to its redirect URI and its client', async (t) => {
  const clients = [...await localClients(), { client_id: 'second-console', client_secret_hash: (await localClients())[0]!.client_secret_hash, scopes: ['records:read' as const], tenant: 'local', audiences: ['security-records-api'], redirect_uris: [REDIRECT] }]
  const auth = await buildMockAuth(t, { clients })
  const { code, verifier } = await codeFor(auth)
  const otherRedirect = await exchange(auth, { code, code_verifier: verifier, redirect_uri: `${REDIRECT}/` })
  t.match(otherRedirect.json(), { error: 'invalid_grant' })
  const otherClient = await exchange(auth, { code, code_verifier: verifier }, 'second-console', 'local-admin-secret')
  t.match(otherClient.json(), { error: 'invalid_grant' })
  const noRedirectClient = await exchange(auth, { code, code_verifier: verifier }, 'local-admin')
  t.match(noRedirectClient.json(), { error: 'unauthorized_client' })
  t.equal((await exchange(auth, { code, code_verifier: verifier })).statusCode, 200)
})

t.test('redirect URIs match exactly; an unregistered one or an unknown client is answered on the page, never redirected', async (t) => {
  const auth = await buildMockAuth(t)
  const { challenge } = pkce()
  for (const redirectUri of [`${REDIRECT}/`, `${REDIRECT}?next=https://evil.example`, 'http://127.0.0.1:8081/console/callback', 'http://127.0.0.1:8080/console/callback/../evil', 'https://evil.example/console/callback', 'HTTP://127.0.0.1:8080/console/callback']) {
    for (const method of ['GET', 'POST'] as const) {
      const parameters = authorizationRequest(challenge, { redirect_uri: redirectUri })
      const response = method === 'GET'
        ? await auth.app.inject({ url: `${oauthPaths.authorization}?${form(parameters)}` })
        : await signInPost(auth, parameters)
      t.equal(response.statusCode, 400, `${method} ${redirectUri}`)
      t.notOk(response.headers.location, `${method} ${redirectUri}: no redirect`)
      t.match(response.body, /not one this application registered/)
    }
  }
  for (const clientId of ['unknown', 'local-admin']) {
    const response = await auth.app.inject({ url: `${oauthPaths.authorization}?${form(authorizationRequest(challenge, { client_id: clientId }))}` })
    t.equal(response.statusCode, 400, clientId)
    t.notOk(response.headers.location)
  }
})

t.test('a repeated parameter, another response type, or a scope the client lacks goes back with the error', async (t) => {
  const auth = await buildMockAuth(t)
  const { challenge } = pkce()
  const repeated = await auth.app.inject({ url: `${oauthPaths.authorization}?${form(authorizationRequest(challenge))}&state=again` })
  t.equal(new URL(repeated.headers.location as string).searchParams.get('error'), 'invalid_request')
  const implicit = await auth.app.inject({ url: `${oauthPaths.authorization}?${form(authorizationRequest(challenge, { response_type: 'token' }))}` })
  t.equal(new URL(implicit.headers.location as string).searchParams.get('error'), 'unsupported_response_type')
  const scope = await auth.app.inject({ url: `${oauthPaths.authorization}?${form(authorizationRequest(challenge, { scope: 'records:admin' }))}` })
  t.equal(new URL(scope.headers.location as string).searchParams.get('error'), 'invalid_scope')
})

t.test('the password grant does not exist', async (t) => {
  const auth = await buildMockAuth(t)
  const response = await auth.post(oauthPaths.token, { grant_type: 'password', username: 'local-triager', password: localPasswords['local-triager']! }, CONSOLE)
  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'unsupported_grant_type')
})

t.test('a wrong password shows the form again (401, no code); guessing is throttled like client secrets', async (t) => {
  const auth = await buildMockAuth(t)
  const { challenge } = pkce()
  const wrong = await signInPost(auth, authorizationRequest(challenge), 'local-triager', 'guess')
  t.equal(wrong.statusCode, 401)
  t.notOk(wrong.headers.location)
  t.match(wrong.body, /Wrong username or password/)
  const unknown = await signInPost(auth, authorizationRequest(challenge), 'nobody', 'guess')
  t.equal(unknown.statusCode, 401, 'an unknown name looks the same')
  t.match(unknown.body, /Wrong username or password/)

  let last = wrong
  for (let attempt = 0; attempt < 12 && last.statusCode !== 429; attempt++) last = await signInPost(auth, authorizationRequest(challenge), 'local-triager', `guess-${attempt}`)
  t.equal(last.statusCode, 429)
  t.ok(Number(last.headers['retry-after']) > 0)
  t.match(last.body, /Too many failed sign-ins/)
  const right = await signInPost(auth, authorizationRequest(challenge), 'local-triager')
  t.equal(right.statusCode, 429, 'even the right password waits: the check is refused before it runs')
})

t.test('attacker-controlled request parameters are escaped on the login page', async (t) => {
  const auth = await buildMockAuth(t)
  const { challenge } = pkce()
  const response = await auth.app.inject({ url: `${oauthPaths.authorization}?${form(authorizationRequest(challenge, { state: '"><script>alert(1)</script>' }))}` })
  t.equal(response.statusCode, 200)
  t.notMatch(response.body, /<script>/)
  t.match(response.body, /&quot;&gt;&lt;script&gt;/)
})

t.test('a code is no access token: the records API refuses one', async (t) => {
  const auth = await buildMockAuth(t)
  const { code } = await codeFor(auth)
  const api = await recordsApiTrusting(t, auth)
  const response = await api.inject({ url: '/v1/records', headers: { authorization: `Bearer ${code}` } })
  t.equal(response.statusCode, 401)
})

t.test('the documented local people are refused off a loopback issuer', async (t) => {
  const auth = await buildMockAuth(t)
  const people = { users: await localUsers(), redeemedCodes: createRedeemedCodes(auth.store) }
  const ownClients = (await localClients()).map((client) => ({ ...client, client_id: `own-${client.client_id}` }))
  await t.rejects(buildMockAuthApp({ issuer: 'https://records.example.com', clients: ownClients, people, signingKeys: auth.signingKeys, revocations: auth.revocations, logger: false }), ConfigError)
  const renamed = people.users.map((user) => ({ ...user, username: `own-${user.username}` }))
  const cluster = await buildMockAuthApp({ issuer: 'https://records.example.com', clients: ownClients, people: { ...people, users: renamed }, signingKeys: auth.signingKeys, revocations: auth.revocations, logger: false })
  t.teardown(() => cluster.close())
  t.pass('people of your own are fine')
})
