import { randomBytes } from 'node:crypto'
import t from 'tap'
import { buildConsoleApp } from '../../../functions/console/app.ts'
import { createCookieSealer, type Session } from '../../../functions/console/session.ts'
import { definition as consoleDefinition } from '../../../functions/console/index.ts'
import { ConfigError } from '../../../shared/config.ts'
import type { BaseApp } from '../../../shared/http/base-app.ts'

const session: Session = { accessToken: 'token', expiresAt: 0, sub: 'local-triager', name: 'Tess', tenant: 'local', scopes: ['records:read'] }

t.test('a sealed session opens until its token expires, then it is no session (the person signs in again)', async (t) => {
  let clock = Date.parse('2026-12-06T12:00:00Z')
  const sealer = createCookieSealer(randomBytes(32), () => new Date(clock))
  const expiresAt = clock / 1000 + 3600
  const sealed = await sealer.seal('session', { ...session, expiresAt }, expiresAt)
  t.same(await sealer.open('session', sealed), { ...session, expiresAt })
  t.equal(await sealer.open('signIn', sealed), undefined, 'a session cookie is no sign-in cookie')
  clock += 3601 * 1000
  t.equal(await sealer.open('session', sealed), undefined, 'expired')
})

t.test('the console refuses to start on plain http off loopback, or with a key of the wrong length', async (t) => {
  const options = { origin: 'http://records.example.com', apiUrl: 'http://127.0.0.1:8080', issuer: 'http://127.0.0.1:8080', clientId: 'console', clientSecret: 's', cookieKey: randomBytes(32), logger: false as const }
  await t.rejects(buildConsoleApp(options), ConfigError)
  await t.rejects(buildConsoleApp({ ...options, origin: 'https://records.example.com/console' }), ConfigError)
  await t.rejects(buildConsoleApp({ ...options, origin: 'http://127.0.0.1:8080', cookieKey: randomBytes(16) }), /32 bytes/)
  const app = await buildConsoleApp({ ...options, origin: 'https://records.example.com' })
  t.teardown(() => app.close())
  const started = await app.inject({ url: '/console/signin?return=/console/records' })
  const cookie = started.headers['set-cookie'] as string
  t.match(cookie, /^__Host-console-signin=/, 'off loopback the cookies are __Host-')
  t.match(cookie, /; Secure/)
  t.match(cookie, /; HttpOnly/)
  const authorize = new URL(started.headers.location as string)
  t.equal(authorize.origin + authorize.pathname, 'http://127.0.0.1:8080/oauth2/authorize')
  t.match(Object.fromEntries(authorize.searchParams), { response_type: 'code', client_id: 'console', redirect_uri: 'https://records.example.com/console/callback', code_challenge_method: 'S256' })
  t.match(authorize.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
})

t.test('deployed without its Secret, or at a plain-http origin off loopback, the console stays Ready and every page is a 503 saying why; no cookie is set', async (t) => {
  const settings = { CONSOLE_ORIGIN: 'http://records.example.com', CONSOLE_API_URL: 'http://records.example.com', CONSOLE_AUTH_ISSUER: 'http://records.example.com', LOG_LEVEL: 'silent' as const, REQUEST_TIMEOUT_MS: 30_000 }
  const cases = [
    { name: 'no Secret', config: { ...settings, CONSOLE_ORIGIN: 'https://records.example.com' }, reason: /client secret and cookie key are not set/ },
    { name: 'plain http off loopback', config: { ...settings, CONSOLE_CLIENT_SECRET: 's', CONSOLE_COOKIE_KEY: randomBytes(32).toString('base64url') }, reason: /plain http and not a loopback address/ }
  ]
  for (const { name, config, reason } of cases) {
    const app = await consoleDefinition.build({ PORT: 0, HOST: '127.0.0.1', CONSOLE_CLIENT_ID: 'console', ...config } as Parameters<typeof consoleDefinition.build>[0]) as unknown as BaseApp
    t.teardown(() => app.close())
    t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, `${name}: Ready`)
    for (const url of ['/console', '/console/signin?return=/console/records', '/console/records']) {
      const page = await app.inject({ url })
      t.equal(page.statusCode, 503, `${name}: ${url} is a 503`)
      t.match(page.body, reason, `${name}: it says why`)
      t.equal(page.headers['set-cookie'], undefined, `${name}: no cookie`)
      t.match(page.headers['content-security-policy'], /default-src 'none'/)
    }
    t.equal((await app.inject({ method: 'POST', url: '/console/bulk' })).statusCode, 503, `${name}: writes too`)
  }
})
