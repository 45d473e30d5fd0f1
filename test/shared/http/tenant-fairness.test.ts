import { request as httpRequest } from 'node:http'
import t, { type Test } from 'tap'
import { createBaseApp } from '../../../shared/http/base-app.ts'
import tenantFairness from '../../../shared/http/tenant-fairness.ts'

/** An app whose one route holds every request until the test lets it go; the tenant is a header. */
async function heldApp (t: Test, options: { inFlight: number, queued: number, maxWaitMs?: number }) {
  const app = await createBaseApp({ logger: false, bodyLimit: 1024, requestTimeoutMs: 30_000 })
  await app.register(tenantFairness, { tenantOf: (request) => request.headers['x-tenant'] as string | undefined, ...options })
  const held: Array<() => void> = []
  const started: string[] = []
  app.get('/work', async (request) => {
    started.push(String(request.headers['x-name']))
    await new Promise<void>((resolve) => held.push(resolve))
    return { done: request.headers['x-name'] }
  })
  t.teardown(() => app.close())
  return { app, held, started }
}

const until = async (condition: () => boolean) => { while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5)) }

t.test('a request that waited maxWaitMs for its turn is refused with a 429, and the queue moves on', async (t) => {
  const { app, held, started } = await heldApp(t, { inFlight: 1, queued: 5, maxWaitMs: 50 })
  const work = (name: string) => app.inject({ url: '/work', headers: { 'x-tenant': 'noisy', 'x-name': name } })
  const first = work('first')
  await until(() => started.length === 1)
  const waiting = await work('waiting')
  t.equal(waiting.statusCode, 429, 'refused after waiting')
  t.match(waiting.json(), { type: /rate-limited$/, detail: /1 requests running at this instance and 5 waiting/ })
  t.equal(waiting.headers['retry-after'], '1')
  held.shift()!()
  t.equal((await first).statusCode, 200)
  const next = work('next')
  await until(() => started.length === 2)
  held.shift()!()
  t.equal((await next).statusCode, 200, 'the refused request left no place taken')
  t.same(started, ['first', 'next'])
})

t.test('a waiting client that goes away gives its turn to the next in line', async (t) => {
  const { app, held, started } = await heldApp(t, { inFlight: 1, queued: 5 })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const get = (name: string) => fetch(`${base}/work`, { headers: { 'x-tenant': 'noisy', 'x-name': name } })
  const first = get('first')
  await until(() => started.length === 1)
  const leaving = httpRequest(`${base}/work`, { headers: { 'x-tenant': 'noisy', 'x-name': 'leaving' } })
  leaving.on('error', () => {})
  leaving.end()
  const last = get('last')
  // Both wait behind `first`; then the one in front leaves.
  await new Promise((resolve) => setTimeout(resolve, 100))
  leaving.destroy()
  await new Promise((resolve) => setTimeout(resolve, 100))
  held.shift()!()
  t.equal((await first).status, 200)
  await until(() => started.length === 2)
  t.same(started, ['first', 'last'], 'the client that left never ran')
  held.shift()!()
  t.equal((await last).status, 200)
})
