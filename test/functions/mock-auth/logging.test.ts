import { Writable } from 'node:stream'
import t from 'tap'
import { oauthPaths } from '../../../functions/mock-auth/endpoints.ts'
import { basic, buildMockAuth, form, FORM_TYPE } from './harness.ts'

t.test('at trace level, no log line holds a client secret, Basic credentials or a token', async (t) => {
  let logs = ''
  const stream = new Writable({ write (chunk, _encoding, done) { logs += chunk; done() } })
  const auth = await buildMockAuth(t, { logger: { level: 'trace', stream } })
  const adminBasic = basic('local-admin', 'local-admin-secret')
  const token = await auth.token('local-admin')

  const requests = [
    { url: oauthPaths.token, headers: { ...FORM_TYPE }, payload: form({ grant_type: 'client_credentials', client_id: 'local-reader', client_secret: 'local-reader-secret' }) },
    { url: oauthPaths.token, headers: { ...FORM_TYPE, authorization: basic('local-admin', 'wrong-secret-value') }, payload: form({ grant_type: 'client_credentials' }) },
    { url: `${oauthPaths.token}?client_secret=query-secret-value&access_token=${token}`, headers: { ...FORM_TYPE, authorization: adminBasic }, payload: form({ grant_type: 'password' }) },
    { url: oauthPaths.introspection, headers: { ...FORM_TYPE, authorization: adminBasic }, payload: form({ token }) },
    { url: oauthPaths.introspection, headers: { 'content-type': 'application/json', authorization: adminBasic }, payload: JSON.stringify({ token }) },
    { url: oauthPaths.revocation, headers: { ...FORM_TYPE, authorization: adminBasic }, payload: form({ token }) }
  ]
  for (const request of requests) await auth.app.inject({ method: 'POST', ...request })

  t.match(logs, /incoming request/, 'requests were logged')
  t.match(logs, new RegExp(oauthPaths.introspection), 'paths are logged')
  for (const secret of ['local-admin-secret', 'local-reader-secret', 'wrong-secret-value', 'query-secret-value', token, adminBasic.slice('Basic '.length), token.split('.')[2]!]) {
    t.notOk(logs.includes(secret), `never logged: ${secret.slice(0, 12)}…`)
  }
})
