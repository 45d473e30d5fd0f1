/**
 * Smoke test of a deployed stack, as a client sees it: discovery, a token from the authorization
 * server, then create / get / delete of a record through the ingress. Used by deploy.yml and
 * e2e.yml after a deploy, and works against `npm start` too:
 *
 *   SMOKE_CLIENT_ID=local-admin SMOKE_CLIENT_SECRET=local-admin-secret \
 *     node scripts/smoke-test.ts http://127.0.0.1:8080
 *
 * Cold functions may take a few seconds to answer the first request (Knative scales them to zero),
 * so every call gets a generous timeout. Exits 1 on the first failed expectation.
 */
import { randomUUID } from 'node:crypto'

interface Step { method: string, path: string, headers?: Record<string, string>, body?: string, expect: number }

const REQUEST_TIMEOUT_MS = 30_000

export async function smokeTest (baseUrl: string, clientId: string, clientSecret: string, log = console.log): Promise<void> {
  const base = baseUrl.replace(/\/$/, '')
  const call = async ({ method, path, headers = {}, body, expect }: Step) => {
    const started = performance.now()
    const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    const text = await response.text()
    log(`${method} ${path} -> ${response.status} (${Math.round(performance.now() - started)} ms)`)
    if (response.status !== expect) throw new Error(`${method} ${path}: expected ${expect}, got ${response.status}: ${text.slice(0, 500)}`)
    return { response, json: text && /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined }
  }

  const metadata = await call({ method: 'GET', path: '/.well-known/oauth-authorization-server', expect: 200 })
  const tokenEndpoint = new URL(metadata.json.token_endpoint as string)

  await call({ method: 'GET', path: '/v1/records', expect: 401 })

  const token = await call({
    method: 'POST',
    path: tokenEndpoint.pathname,
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded'
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'records:read records:write records:delete' }).toString(),
    expect: 200
  })
  const bearer = { authorization: `Bearer ${token.json.access_token as string}` }

  const created = await call({
    method: 'POST',
    path: '/v1/records',
    headers: { ...bearer, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({
      title: `smoke test ${new Date().toISOString()}`,
      category: 'other',
      severity: 'info',
      asset: { name: 'smoke-test', type: 'service' },
      tags: ['smoke-test']
    }),
    expect: 201
  })
  const id = created.json.id as string
  const read = await call({ method: 'GET', path: `/v1/records/${id}`, headers: bearer, expect: 200 })
  if (read.json.id !== id) throw new Error(`GET /v1/records/${id} returned record ${read.json.id}`)
  await call({ method: 'DELETE', path: `/v1/records/${id}`, headers: { ...bearer, 'if-match': read.response.headers.get('etag') ?? '*' }, expect: 204 })
  await call({ method: 'GET', path: `/v1/records/${id}`, headers: bearer, expect: 404 })
}

if (import.meta.main) {
  const baseUrl = process.argv[2] ?? process.env.SMOKE_BASE_URL
  const clientId = process.env.SMOKE_CLIENT_ID
  const clientSecret = process.env.SMOKE_CLIENT_SECRET
  if (!baseUrl || !clientId || !clientSecret) {
    console.error('usage: SMOKE_CLIENT_ID=… SMOKE_CLIENT_SECRET=… node scripts/smoke-test.ts <base-url>')
    process.exit(2)
  }
  try {
    await smokeTest(baseUrl, clientId, clientSecret)
    console.log('smoke test passed')
  } catch (error) {
    console.error(`smoke test failed: ${(error as Error).message}`)
    process.exit(1)
  }
}
