import { mkdtemp, rm } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startLocalStack } from '../../local-dev/stack.ts'

async function token (url: string, client = 'local-admin', secret = `${client}-secret`) {
  const response = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  if (!response.ok) throw new Error(`token: ${response.status} ${await response.text()}`)
  return (await response.json() as { access_token: string }).access_token
}

const finding = { title: 'Exposed admin port', category: 'misconfiguration', severity: 'high', asset: { name: 'edge-lb', type: 'network' } }

t.test('the local stack serves the whole CRUD walk through one origin with real tokens', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  const health = await fetch(`${stack.url}/healthz`)
  t.equal(health.status, 200)
  t.match(await health.json(), { status: 'ok', functions: { 'mock-auth': 'ok', 'create-record': 'ok', 'get-record': 'ok', 'list-records': 'ok', 'update-record': 'ok', 'delete-record': 'ok' } })

  const discovery = await (await fetch(`${stack.url}/.well-known/oauth-authorization-server`)).json() as Record<string, unknown>
  t.equal(discovery.issuer, stack.url)
  t.equal(discovery.token_endpoint, `${stack.url}/oauth2/token`)

  const admin = { authorization: `Bearer ${await token(stack.url)}` }
  const created = await fetch(`${stack.url}/v1/records`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(finding) })
  t.equal(created.status, 201)
  const record = await created.json() as { id: string, createdBy: string }
  t.equal(created.headers.get('location'), `/v1/records/${record.id}`)
  t.equal(record.createdBy, 'local-admin')

  const patched = await fetch(`${stack.url}/v1/records/${record.id}`, { method: 'PATCH', headers: { ...admin, 'content-type': 'application/merge-patch+json', 'if-match': created.headers.get('etag')! }, body: JSON.stringify({ status: 'triaged' }) })
  t.equal(patched.status, 200)
  t.equal(patched.headers.get('etag'), '"2"')

  const listed = await (await fetch(`${stack.url}/v1/records?status=triaged`, { headers: admin })).json() as { items: Array<{ id: string }> }
  t.same(listed.items.map((item) => item.id), [record.id])
  const history = await (await fetch(`${stack.url}/v1/records/${record.id}/history`, { headers: admin })).json() as { items: unknown[] }
  t.equal(history.items.length, 2)

  const reader = { authorization: `Bearer ${await token(stack.url, 'local-reader')}` }
  t.equal((await fetch(`${stack.url}/v1/records/${record.id}`, { headers: reader })).status, 200, 'local-reader can read')
  const forbidden = await fetch(`${stack.url}/v1/records`, { method: 'POST', headers: { ...reader, 'content-type': 'application/json' }, body: JSON.stringify(finding) })
  t.equal(forbidden.status, 403, 'local-reader cannot write')
  t.match(forbidden.headers.get('www-authenticate'), /insufficient_scope/)

  const other = { authorization: `Bearer ${await token(stack.url, 'local-other')}` }
  t.equal((await fetch(`${stack.url}/v1/records/${record.id}`, { headers: other })).status, 404, 'local-other sees none of local\'s records')
  t.same((await (await fetch(`${stack.url}/v1/records`, { headers: other })).json() as { items: unknown[] }).items, [])

  t.equal((await fetch(`${stack.url}/v1/records/${record.id}`, { method: 'DELETE', headers: admin })).status, 204)

  const reported = await fetch(`${stack.url}/events/findings`, {
    method: 'POST',
    headers: { ...admin, 'ce-specversion': '1.0', 'ce-id': 'scan-1', 'ce-source': '/scanners/trivy', 'ce-type': 'com.mediamarktsaturn.security.finding.reported', 'ce-tenant': 'local', 'content-type': 'application/json' },
    body: JSON.stringify({ ...finding, fingerprint: 'trivy:edge-lb:open-port' })
  })
  t.equal(reported.status, 200, 'scanner findings come in at /events/findings')
  const ingested = await reported.json() as { outcome: string, id: string }
  t.equal(ingested.outcome, 'created')
  t.equal((await fetch(`${stack.url}/v1/records/${ingested.id}`, { headers: admin })).status, 200)
})

t.test('the gateway refuses /v1/ requests without a valid token before any function runs', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  const cases: Array<[string, Record<string, string>]> = [
    ['no token', {}],
    ['garbage', { authorization: 'Bearer not-a-jwt' }],
    ['basic', { authorization: 'Basic bG9jYWwtYWRtaW46bG9jYWwtYWRtaW4tc2VjcmV0' }]
  ]
  for (const [name, headers] of cases) {
    const response = await fetch(`${stack.url}/v1/records`, { headers })
    t.equal(response.status, 401, name)
    t.match(response.headers.get('www-authenticate'), /^Bearer realm="security-records", error="invalid_token"/, name)
    t.match(response.headers.get('content-type'), /^application\/problem\+json/, name)
  }
  const wrongAudience = await token(stack.url)
  t.equal((await fetch(`${stack.url}/v1/records`, { headers: { authorization: `Bearer ${wrongAudience}x` } })).status, 401, 'a tampered signature')
  const unknownRoute = await fetch(`${stack.url}/v1/nothing-here`)
  t.equal(unknownRoute.status, 404)
})

t.test('data survives a restart of the stack', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'security-records-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const first = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent', sweepIntervalMs: 0 })
  const admin = { authorization: `Bearer ${await token(first.url)}` }
  const created = await (await fetch(`${first.url}/v1/records`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(finding) })).json() as { id: string }
  await first.close()

  const second = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => second.close())
  const fresh = { authorization: `Bearer ${await token(second.url)}` }
  const read = await fetch(`${second.url}/v1/records/${created.id}`, { headers: fresh })
  t.equal(read.status, 200)
  t.equal((await read.json() as { title: string }).title, finding.title)
})

t.test('a stack on any free port starts even when another process takes the port it picked before its gateway binds it', async (t) => {
  // The next port picked is taken by someone else the moment the picker lets go of it.
  const squatter = net.createServer()
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())))
  const createServer = net.createServer
  net.createServer = ((...args: Parameters<typeof createServer>) => {
    net.createServer = createServer
    syncBuiltinESMExports()
    const picker = createServer(...args)
    const close = picker.close.bind(picker)
    picker.close = ((done?: (error?: Error) => void) => {
      const { port } = picker.address() as AddressInfo
      return close(() => squatter.listen(port, '127.0.0.1', () => done?.()))
    }) as typeof picker.close
    return picker
  }) as typeof createServer
  syncBuiltinESMExports()
  t.teardown(() => { net.createServer = createServer; syncBuiltinESMExports() })

  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  const taken = (squatter.address() as AddressInfo).port
  t.not(Number(new URL(stack.url).port), taken, `it listens on another port than the one taken (${taken})`)
  t.equal((await fetch(`${stack.url}/healthz`)).status, 200, 'and serves')
  t.equal((await (await fetch(`${stack.url}/.well-known/oauth-authorization-server`)).json() as { issuer: string }).issuer, stack.url, 'its issuer names the port it has')
})

t.test('the local stack delivers the record events to record-metrics through its broker: GET /v1/metrics shows live numbers', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  const admin = { authorization: `Bearer ${await token(stack.url)}` }
  const before = await (await fetch(`${stack.url}/v1/metrics`, { headers: admin })).json() as { open: { total: number } }
  const created = await fetch(`${stack.url}/v1/records`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(finding) })
  t.equal(created.status, 201)
  let figures: { open: { total: number, bySeverity: Record<string, number> }, topAssets: Array<{ name: string }> } | undefined
  for (let i = 0; i < 200; i++) {
    figures = await (await fetch(`${stack.url}/v1/metrics`, { headers: admin })).json() as typeof figures
    if (figures!.open.total > before.open.total) break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.equal(figures!.open.total, before.open.total + 1)
  t.equal(figures!.open.bySeverity.high, 1)
  t.match(figures!.topAssets, [{ name: 'edge-lb' }])
  const direct = await fetch(`${stack.functions['record-metrics']}/`, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': 'x/1', 'ce-type': 'com.mediamarktsaturn.security.record.created', 'ce-source': '/tenants/local/records', 'content-type': 'application/json' }, body: '{}' })
  t.equal(direct.status, 401, 'record-metrics takes deliveries from the broker only')
})

t.test('POST /v1/findings goes through the local broker and its findings Trigger to ingest-finding, as in the cluster, and the record it makes is counted', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  const admin = { authorization: `Bearer ${await token(stack.url)}` }
  const reported = await fetch(`${stack.url}/v1/findings`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ ...finding, severity: 'critical', fingerprint: 'nmap:edge-lb:8443' }) })
  t.equal(reported.status, 202, 'published to the broker, as in the cluster')
  t.match(await reported.json(), { eventId: String })
  // The broker answers the producer once every Trigger's subscriber took the event: the record exists
  // (the list is read from an index, which a store may update a moment later).
  let listed: Array<{ title: string, createdBy: string }> = []
  for (let i = 0; i < 400 && listed.length === 0; i++) {
    listed = ((await (await fetch(`${stack.url}/v1/records?severity=critical`, { headers: admin })).json()) as { items: typeof listed }).items
    if (listed.length === 0) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.match(listed, [{ title: finding.title, createdBy: 'local-admin' }], 'ingest-finding wrote it under the reporter\'s identity')
  let critical = 0
  for (let i = 0; i < 400 && critical === 0; i++) {
    critical = ((await (await fetch(`${stack.url}/v1/metrics`, { headers: admin })).json()) as { open: { bySeverity: Record<string, number> } }).open.bySeverity.critical ?? 0
    if (critical === 0) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.equal(critical, 1, 'record-metrics counted the finding\'s record from its record.created event')
  const direct = await fetch(`${stack.functions['ingest-finding']}/`, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': 'x/1', 'ce-type': 'com.mediamarktsaturn.security.finding.reported', 'ce-source': '/scanners/x', 'content-type': 'application/json' }, body: '{}' })
  t.equal(direct.status, 401, 'ingest-finding takes deliveries from the broker only')
})
