import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { buildConsoleApp } from '../../../functions/console/app.ts'
import { duration, weeks } from '../../../functions/console/pages/overview.ts'
import { createCookieSealer, type Session } from '../../../functions/console/session.ts'
import { daysBack, summarize } from '../../../shared/metrics/summary.ts'

const NOW = new Date('2026-12-06T12:00:00Z')

/** The figures the metrics API answers for a tenant with some of everything. */
function busyTenant () {
  const figures: Record<number, Record<string, number>> = { 89: { opened: 4, 'r|high': 3, 'm|high': 2, 't|high|60': 3 }, 80: { opened: 2 } }
  const days = new Map(daysBack(NOW, 90).map((day, index) => [day, figures[index] ?? {}]))
  return summarize({
    now: NOW,
    windowDays: 30,
    counts: { 's|critical|open': 2, 's|high|triaged': 5, 's|high|resolved': 3, 's|low|open': 1, 'd|high|2026-11-01': 1 },
    days,
    topAssets: [{ name: 'payments-api', open: 4 }, { name: '<img src=x onerror=alert(1)>', open: 2 }]
  })
}

/** A records API that answers what the test sets and notes every call. */
async function fakeApi (t: Test) {
  const calls: string[] = []
  const answers: Record<string, { status: number, body: unknown }> = {}
  const server = createServer((request, response) => {
    const url = new URL(request.url!, 'http://x')
    calls.push(`${url.pathname}${url.search}`)
    const answer = answers[url.pathname] ?? { status: 404, body: { title: 'Not Found', requestId: 'r-404' } }
    response.writeHead(answer.status, { 'content-type': answer.status === 200 ? 'application/json' : 'application/problem+json' }).end(JSON.stringify(answer.body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, answers }
}

async function overview (t: Test, api: Awaited<ReturnType<typeof fakeApi>>) {
  const cookieKey = randomBytes(32)
  const app = await buildConsoleApp({ origin: 'http://127.0.0.1:9', apiUrl: api.url, issuer: 'http://127.0.0.1:9', clientId: 'console', clientSecret: 's', cookieKey, logger: false })
  t.teardown(() => app.close())
  const expiresAt = Math.floor(Date.now() / 1000) + 3600
  const session: Session = { accessToken: 'token', expiresAt, sub: 'local-triager', name: 'Tess', tenant: 'local', scopes: ['records:read'] }
  const sealed = await createCookieSealer(cookieKey).seal('session', session, expiresAt)
  return app.inject({ url: '/console', cookies: { console: sealed } })
}

const critical = { id: 'rec-1', title: 'Log4Shell in reporting service', asset: { name: 'reporting', type: 'service' }, createdAt: '2026-12-05T10:00:00Z' }

t.test('the overview shows the metrics API\'s figures, from one metrics call and one list call', async (t) => {
  const api = await fakeApi(t)
  api.answers['/v1/metrics'] = { status: 200, body: busyTenant() }
  api.answers['/v1/records'] = { status: 200, body: { items: [critical], nextCursor: null } }
  const page = await overview(t, api)
  t.equal(page.statusCode, 200)
  t.same(api.calls.filter((call) => call.startsWith('/v1/metrics')), ['/v1/metrics?window=30d'], 'one metrics call')
  t.equal(api.calls.filter((call) => call.startsWith('/v1/records')).length, 1, 'one list call (the newest critical), not one per severity')
  t.match(api.calls.find((call) => call.startsWith('/v1/records')), /severity=critical&limit=5/)
  const body = page.body
  t.match(body, /sev-critical">critical<\/span> <strong>2<\/strong>/, 'open critical')
  t.match(body, /sev-high">high<\/span> <strong>5<\/strong>/, 'open high (triaged counts as open; resolved does not)')
  t.match(body, /overdue<\/span> <strong>1<\/strong>/, 'overdue')
  t.match(body, /<th scope="row"><span class="sev sev-high">high<\/span><\/th><td>30 days<\/td><td>3<\/td><td>2<\/td><td>67 %<\/td><td>[0-9.]+ (min|h|days)<\/td>/, 'SLA compliance and time to remediate of high')
  t.match(body, /2026-11-30 – 2026-12-06<\/th><td><span class="num">4<\/span>.*<span class="num">3<\/span>/s, 'this week: 4 opened, 3 resolved')
  t.match(body, /<rect class="bar-opened" width="120"/, 'the largest week fills its bar')
  t.match(body, /payments-api<\/a> — 4 open/, 'top assets')
  t.match(body, /&lt;img src=x onerror=alert\(1\)&gt;<\/a> — 2 open/, 'an asset name is text')
  t.notMatch(body, /<img src=x/)
  t.match(body, /Log4Shell in reporting service/, 'newest critical')
  t.notMatch(body, /style=|<script>/, 'nothing inline for the CSP to refuse')
})

t.test('an empty tenant gets sentences, not a wall of zeros and dashes alone', async (t) => {
  const api = await fakeApi(t)
  api.answers['/v1/metrics'] = { status: 200, body: summarize({ now: NOW, windowDays: 30, counts: {}, days: new Map(), topAssets: [] }) }
  api.answers['/v1/records'] = { status: 200, body: { items: [], nextCursor: null } }
  const page = await overview(t, api)
  t.equal(page.statusCode, 200)
  t.match(page.body, /No open findings\./)
  t.match(page.body, /Nothing opened or resolved since 2026-09-08\./)
  t.match(page.body, /No asset has open findings\./)
  t.match(page.body, /No open critical findings\./)
  t.match(page.body, /<td>none<\/td>/, 'info has no SLA')
})

t.test('metrics unavailable: the problem as a sentence with the request id', async (t) => {
  const api = await fakeApi(t)
  api.answers['/v1/metrics'] = { status: 503, body: { title: 'Service Unavailable', detail: 'The store is unavailable; try again shortly', requestId: 'req-metrics-1' } }
  api.answers['/v1/records'] = { status: 200, body: { items: [], nextCursor: null } }
  const page = await overview(t, api)
  t.equal(page.statusCode, 503)
  t.match(page.body, /<h1>Overview unavailable<\/h1>/)
  t.match(page.body, /role="alert"[^>]*>The store is unavailable; try again shortly\. \(status 503, request id req-metrics-1\)/)
})

t.test('durations read in their unit, and the trend groups by week ending today', async (t) => {
  t.equal(duration(null), '—')
  t.equal(duration(30), '1 min')
  t.equal(duration(5400), '2 h')
  t.equal(duration(363_337), '4.2 days')
  const trend = daysBack(NOW, 10).map((day) => ({ day, opened: 1, resolved: 0 }))
  t.same(weeks(trend).map((week) => [week.from, week.to, week.opened]), [['2026-11-27', '2026-11-29', 3], ['2026-11-30', '2026-12-06', 7]])
  t.same(weeks(undefined), [])
})
