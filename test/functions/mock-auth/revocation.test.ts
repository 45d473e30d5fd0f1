import t from 'tap'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { decodeJwt } from 'jose'
import { oauthPaths } from '../../../functions/mock-auth/endpoints.ts'
import { storeUnavailable } from '../../../shared/errors.ts'
import { revokedTokenKey, ttlAttribute } from '../../../shared/store/keys.ts'
import { basic, buildMockAuth, form, FORM_TYPE, LOCAL_ISSUER, recordsApiTrusting } from './harness.ts'

t.test('revoking a token: 200, its jti on the denylist until it expires, introspection says inactive', async (t) => {
  const auth = await buildMockAuth(t)
  const token = await auth.token('local-admin')
  const claims = decodeJwt(token)

  const response = await auth.post(oauthPaths.revocation, { token, token_type_hint: 'access_token' }, 'local-admin')
  t.equal(response.statusCode, 200)
  t.equal(response.body, '')
  t.equal(response.headers['cache-control'], 'no-store')

  t.equal(await auth.revocations.isRevoked(LOCAL_ISSUER, claims.jti!), true)
  const { Item } = await auth.store.documents.send(new GetCommand({ TableName: auth.store.tableName, Key: revokedTokenKey(LOCAL_ISSUER, claims.jti!) }))
  t.equal(Item?.[ttlAttribute], claims.exp, 'the entry lives exactly as long as the token')
  const introspection = await auth.post(oauthPaths.introspection, { token })
  t.same(introspection.json(), { active: false })
})

t.test('the records API accepts a mock-auth token, and refuses it with 401 once revoked', async (t) => {
  const auth = await buildMockAuth(t)
  const records = await recordsApiTrusting(t, auth)
  const token = await auth.token('local-reader')

  const before = await records.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } })
  t.equal(before.statusCode, 200)

  t.equal((await auth.post(oauthPaths.revocation, { token }, 'local-reader')).statusCode, 200)

  const after = await records.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${token}` } })
  t.equal(after.statusCode, 401)
  t.match(after.headers['www-authenticate'], /^Bearer .*error="invalid_token"/)
  t.match(after.headers['content-type'], /^application\/problem\+json/)
  t.match(after.json(), { status: 401, detail: /revoked/ })

  const fresh = await auth.token('local-reader')
  const other = await records.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${fresh}` } })
  t.equal(other.statusCode, 200, 'only the revoked token is refused')
})

t.test('revoking another tenant\'s token answers exactly like revoking junk, and the token stays valid', async (t) => {
  const auth = await buildMockAuth(t)
  const records = await recordsApiTrusting(t, auth)
  const victim = await auth.token('local-admin')
  const { jti } = decodeJwt(victim)

  const foreign = await auth.post(oauthPaths.revocation, { token: victim }, 'local-other')
  const junk = await auth.post(oauthPaths.revocation, { token: 'not-a-token' }, 'local-other')
  const forged = await auth.post(oauthPaths.revocation, { token: `${victim.slice(0, -4)}AAAA` }, 'local-other')

  const visible = (response: typeof foreign) => {
    const { date: _date, 'x-request-id': _id, ...headers } = response.headers
    return { status: response.statusCode, headers, body: response.body }
  }
  t.same(visible(foreign), visible(junk), 'status, headers and body are those of a junk token')
  t.same(visible(foreign), visible(forged), '… and of a forged one')
  t.equal(foreign.statusCode, 200)
  t.equal(foreign.body, '')

  t.equal(await auth.revocations.isRevoked(LOCAL_ISSUER, jti!), false, 'not on the denylist')
  t.equal((await auth.post(oauthPaths.introspection, { token: victim }, 'local-admin')).json().active, true, 'its owner still sees it active')
  const list = await records.inject({ method: 'GET', url: '/v1/records', headers: { authorization: `Bearer ${victim}` } })
  t.equal(list.statusCode, 200, 'the records API still accepts it')
})

t.test('another client of the same tenant cannot revoke a token either: the same 200, nothing revoked', async (t) => {
  const auth = await buildMockAuth(t)
  const token = await auth.token('local-admin')
  const response = await auth.post(oauthPaths.revocation, { token }, 'local-reader')
  t.equal(response.statusCode, 200)
  t.equal(response.body, '')
  t.equal(await auth.revocations.isRevoked(LOCAL_ISSUER, decodeJwt(token).jti!), false)
  t.equal((await auth.post(oauthPaths.introspection, { token })).json().active, true)
})

t.test('invalid, unknown, expired and already revoked tokens are answered 200 (RFC 7009 §2.2), whatever the hint', async (t) => {
  let offsetMs = 0
  const auth = await buildMockAuth(t, { now: () => new Date(Date.now() + offsetMs) })
  const revokedTwice = await auth.token()
  await auth.post(oauthPaths.revocation, { token: revokedTwice })
  const expired = await auth.token()
  offsetMs = 3_600_000
  const cases: Array<[string, Record<string, string>]> = [
    ['garbage', { token: 'garbage' }],
    ['a JWT from nowhere', { token: 'eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.' }],
    ['expired', { token: expired }],
    ['already revoked', { token: revokedTwice }],
    ['refresh_token hint', { token: 'garbage', token_type_hint: 'refresh_token' }],
    ['unknown hint', { token: 'garbage', token_type_hint: 'id_token' }]
  ]
  for (const [name, parameters] of cases) {
    const response = await auth.post(oauthPaths.revocation, parameters)
    t.equal(response.statusCode, 200, name)
  }
})

t.test('revocation needs client authentication and a token parameter', async (t) => {
  const auth = await buildMockAuth(t)
  const token = await auth.token()
  const anonymous = await auth.app.inject({ method: 'POST', url: oauthPaths.revocation, headers: FORM_TYPE, payload: form({ token }) })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().error, 'invalid_client')
  const wrongSecret = await auth.app.inject({ method: 'POST', url: oauthPaths.revocation, headers: { ...FORM_TYPE, authorization: basic('local-admin', 'nope') }, payload: form({ token }) })
  t.equal(wrongSecret.statusCode, 401)
  t.equal((await auth.post(oauthPaths.introspection, { token })).json().active, true, 'nothing was revoked')

  const missing = await auth.post(oauthPaths.revocation, {})
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().error, 'invalid_request')
})

t.test('a store outage is 503 temporarily_unavailable with Retry-After, not a 500', async (t) => {
  const unavailable = async () => { throw storeUnavailable(new Error('down')) }
  const auth = await buildMockAuth(t, { revocations: { revoke: unavailable, isRevoked: unavailable } })
  const token = await auth.token()
  const response = await auth.post(oauthPaths.revocation, { token })
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '1')
  t.equal(response.json().error, 'temporarily_unavailable')
})
