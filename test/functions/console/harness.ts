import { request } from 'node:http'
import type { Test } from 'tap'
import { startLocalStack, type LocalStack } from '../../../local-dev/stack.ts'

/** The cookies a browser holds for the console's origin, by name. */
export type Jar = Map<string, string>

export function cookieHeader (jar: Jar): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
}

/** Takes the Set-Cookie headers into the jar (an expired or empty one removes its cookie). */
export function keep (jar: Jar, response: Response): Jar {
  for (const line of response.headers.getSetCookie()) {
    const [pair = ''] = line.split(';')
    const at = pair.indexOf('=')
    const name = pair.slice(0, at)
    const value = pair.slice(at + 1)
    if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line)) jar.delete(name)
    else jar.set(name, value)
  }
  return jar
}

/** The whole local stack on a free port, token revocation seen at once (no cache). */
export async function startConsoleStack (t: Test): Promise<LocalStack> {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0, env: { ...process.env, RATE_LIMIT: 'off', REVOCATION_CACHE_MS: '0' } })
  t.teardown(() => stack.close())
  return stack
}

export function get (stack: LocalStack, path: string, jar: Jar = new Map()) {
  return fetch(new URL(path, stack.url), { redirect: 'manual', headers: { cookie: cookieHeader(jar) } })
}

export async function postForm (stack: LocalStack, path: string, jar: Jar, fields: Record<string, string>, origin: string | null = stack.url): Promise<Response> {
  // fetch always sends an Origin; a POST without one (an old browser, a script) goes by node:http.
  if (origin === null) return postWithoutOrigin(new URL(path, stack.url), cookieHeader(jar), new URLSearchParams(fields).toString())
  return fetch(new URL(path, stack.url), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded', ...(origin === undefined ? {} : { origin }) },
    body: new URLSearchParams(fields)
  })
}

/**
 * A browser's sign-in, step by step: the console's sign-in link, the login form at mock-auth, and
 * the redirect back. Returns the jar and the callback URL the authorization server sent.
 */
export async function startSignIn (stack: LocalStack, username: string, returnTo?: string) {
  const jar: Jar = new Map()
  const start = await get(stack, `/console/signin${returnTo === undefined ? '' : `?return=${encodeURIComponent(returnTo)}`}`)
  keep(jar, start)
  const authorize = new URL(start.headers.get('location')!)
  const login = await fetch(new URL('/oauth2/authorize', stack.url), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.url },
    body: new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), username, password: `${username}-password` })
  })
  if (login.status !== 303) throw new Error(`login failed: ${login.status}`)
  return { jar, authorize, callback: new URL(login.headers.get('location')!) }
}

export async function signIn (stack: LocalStack, username: string, returnTo?: string) {
  const { jar, callback } = await startSignIn(stack, username, returnTo)
  const back = await get(stack, `${callback.pathname}${callback.search}`, jar)
  if (back.status !== 303) throw new Error(`callback failed: ${back.status} ${await back.text()}`)
  keep(jar, back)
  return { jar, location: back.headers.get('location')! }
}

export async function clientToken (stack: LocalStack, client: string): Promise<string> {
  const response = await fetch(new URL('/oauth2/token', stack.url), { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
  return ((await response.json()) as { access_token: string }).access_token
}

export async function api (stack: LocalStack, token: string, path: string, init: { method?: string, body?: unknown, headers?: Record<string, string> } = {}) {
  const response = await fetch(new URL(path, stack.url), {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) })
  })
  return { status: response.status, body: await response.json().catch(() => null) as any, headers: response.headers }
}

function postWithoutOrigin (url: URL, cookie: string, body: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (answer) => {
      const chunks: Buffer[] = []
      answer.on('data', (chunk: Buffer) => chunks.push(chunk))
      answer.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: answer.statusCode ?? 500 })))
    })
    sent.on('error', reject)
    sent.end(body)
  })
}
