import t from 'tap'
import { buildNewRecord } from '../../shared/records/model.ts'
import { aRecord, buildRecordsApi, seedRecord, type RecordsApiHarness } from '../support/records-api.ts'

async function list (api: RecordsApiHarness, query: string, claims = {}) {
  return api.app.inject({ method: 'GET', url: `/v1/records${query}`, headers: { authorization: await api.bearer({ scope: 'records:read', ...claims }) } })
}

/** Follows nextCursor to the end and returns every id, in order, and the number of pages. */
async function walk (api: RecordsApiHarness, query: string, claims = {}) {
  const ids: string[] = []
  let pages = 0
  let url = query
  for (;;) {
    const response = await list(api, url, claims)
    if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`)
    const { items, nextCursor } = response.json()
    pages++
    ids.push(...items.map((item: { id: string }) => item.id))
    if (!nextCursor) {
      return { ids, pages }
    }
    t.match(response.headers.link, /^<\/v1\/records\?.*cursor=.*>; rel="next"$/)
    const separator = query.includes('?') ? '&' : '?'
    url = `${query}${separator}cursor=${encodeURIComponent(nextCursor)}`
    if (pages > 100) throw new Error('runaway walk')
  }
}

const statuses = ['open', 'triaged', 'in_progress', 'resolved'] as const
const severities = ['critical', 'high', 'medium', 'low'] as const

/** 24 records with varied fields, created one after another (so createdAt orders them). */
async function seed (api: RecordsApiHarness) {
  const created = []
  for (let i = 0; i < 24; i++) {
    created.push(await api.create(aRecord({
      title: `finding ${i}`,
      status: statuses[i % 4],
      severity: severities[i % 4],
      category: i % 3 === 0 ? 'misconfiguration' : 'vulnerability',
      asset: { name: i % 2 === 0 ? 'payments-api' : 'web-shop', type: 'service' },
      tags: i % 5 === 0 ? ['pci'] : ['other'],
      vulnerabilityIds: [`CVE-2024-${1000 + (i % 6)}`]
    })))
  }
  return created
}

t.test('listing walks every record once, newest first, across pages', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await seed(api)
  const { ids, pages } = await walk(api, '?limit=5')
  t.equal(pages, 5)
  t.same(ids, created.map((r) => r.id).reverse(), 'no repeats, no gaps, newest first')
  const ascending = await walk(api, '?limit=7&order=asc')
  t.same(ascending.ids, created.map((r) => r.id))
})

t.test('the first page has the default size of 25 and no cursor when everything fits', async (t) => {
  const api = await buildRecordsApi(t)
  await seed(api)
  const response = await list(api, '')
  t.equal(response.json().items.length, 24)
  t.equal(response.json().nextCursor, null)
  t.notOk(response.headers.link)
})

t.test('filters select exactly the matching records, walked over several pages', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await seed(api)
  const expect = (predicate: (r: typeof created[number]) => boolean) => created.filter(predicate).map((r) => r.id).reverse()
  const cases: Array<[string, (r: typeof created[number]) => boolean]> = [
    ['?status=open&limit=2', (r) => r.status === 'open'],
    ['?status=open,triaged&limit=3', (r) => r.status === 'open' || r.status === 'triaged'],
    ['?severity=critical,low&limit=3', (r) => r.severity === 'critical' || r.severity === 'low'],
    ['?category=misconfiguration&limit=2', (r) => r.category === 'misconfiguration'],
    ['?asset=web-shop&limit=4', (r) => r.asset.name === 'web-shop'],
    ['?asset=web-shop&status=triaged,resolved&limit=2', (r) => r.asset.name === 'web-shop' && (r.status === 'triaged' || r.status === 'resolved')],
    ['?status=open,in_progress&severity=critical&category=misconfiguration&limit=1', (r) => r.status === 'open' && r.severity === 'critical' && r.category === 'misconfiguration'],
    ['?tag=pci&limit=2', (r) => r.tags?.includes('pci') ?? false],
    ['?vulnerabilityId=CVE-2024-1002&limit=2', (r) => r.vulnerabilityIds?.includes('CVE-2024-1002') ?? false],
    ['?status=resolved&tag=other&limit=2', (r) => r.status === 'resolved' && (r.tags?.includes('other') ?? false)]
  ]
  for (const [query, predicate] of cases) {
    const { ids, pages } = await walk(api, query)
    t.same(ids, expect(predicate), query)
    t.ok(pages >= 2 || ids.length <= 2, `${query} walked ${pages} pages`)
  }
})

t.test('overdue lists active records past their deadline only', async (t) => {
  const api = await buildRecordsApi(t)
  const actor = { sub: 'seed', clientId: 'seed', tenant: 'acme' }
  const longAgo = { actor, now: new Date(Date.now() - 40 * 86_400_000) }
  const overdueOpen = buildNewRecord({ ...aRecord({ severity: 'critical' }) } as never, '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e01', longAgo)
  const overdueResolved = buildNewRecord({ ...aRecord({ severity: 'critical', status: 'resolved' }) } as never, '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e02', longAgo)
  const notYetDue = buildNewRecord({ ...aRecord({ severity: 'low' }) } as never, '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e03', longAgo)
  for (const record of [overdueOpen, overdueResolved, notYetDue]) await seedRecord(api.store, 'acme', record)
  await api.create()
  const { ids } = await walk(api, '?overdue=true')
  t.same(ids, [overdueOpen.id])
  const { ids: withStatus } = await walk(api, '?overdue=true&status=resolved')
  t.same(withStatus, [], 'resolved records are never overdue')
})

t.test('every list filter is a Query on an index, never a Scan', async (t) => {
  const api = await buildRecordsApi(t)
  await seed(api)
  await api.settled()
  api.store.commands.length = 0
  const queries = ['', '?status=open', '?status=open,triaged', '?severity=high', '?category=malware', '?asset=web-shop', '?tag=pci', '?vulnerabilityId=CVE-2024-1000', '?overdue=true', '?asset=web-shop&status=open&severity=low&tag=x']
  for (const query of queries) {
    api.store.commands.length = 0
    t.equal((await list(api, query)).statusCode, 200, query)
    // The token's revocation check is a point read of the denylist; everything else reads records.
    const reads = api.store.commands.filter((c) => !JSON.stringify(c.input.Key ?? '').includes('REVOKED#'))
    const names = reads.map((c) => c.name)
    t.ok(names.length > 0 && names.every((name) => name === 'QueryCommand'), `${query}: ${names.join(', ')}`)
    t.ok(reads.every((c) => typeof c.input.IndexName === 'string'), `${query} uses an index`)
    t.ok(reads.every((c) => typeof c.input.Limit === 'number' && (c.input.Limit as number) <= 200), `${query} reads a bounded number of items`)
  }
})

t.test('a page over sparse matches stops early with a cursor and the walk still finds everything', async (t) => {
  const api = await buildRecordsApi(t)
  const actor = { sub: 'seed', clientId: 'seed', tenant: 'acme' }
  const base = Date.now() - 3_600_000
  const needles: string[] = []
  for (let i = 0; i < 450; i++) {
    const id = `01938f2e-8b7a-7c3d-9e4f-${String(i).padStart(12, '0')}`
    const tags = i === 10 || i === 420 ? ['needle'] : ['hay']
    if (tags[0] === 'needle') needles.unshift(id)
    await seedRecord(api.store, 'acme', buildNewRecord(aRecord({ tags }) as never, id, { actor, now: new Date(base + i * 1000) }))
  }
  const first = await list(api, '?tag=needle&limit=5')
  t.equal(first.statusCode, 200)
  t.ok(first.json().items.length < 2, 'the first page stopped at its read budget')
  t.type(first.json().nextCursor, 'string')
  const { ids } = await walk(api, '?tag=needle&limit=5')
  t.same(ids, needles)
})

t.test('a tampered cursor, or one sent with other filters, is a 400', async (t) => {
  const api = await buildRecordsApi(t)
  await seed(api)
  const first = (await list(api, '?status=open&limit=2')).json()
  const cursor: string = first.nextCursor
  t.type(cursor, 'string')
  const [payload, signature] = cursor.split('.')
  const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString())
  const forged = `${Buffer.from(JSON.stringify({ ...decoded, p: '9999' })).toString('base64url')}.${signature}`
  const cases: Array<[string, RegExp]> = [
    [`?status=open&limit=2&cursor=${encodeURIComponent(forged)}`, /altered/],
    [`?status=open&limit=2&cursor=${encodeURIComponent(cursor.slice(0, -2) + 'AA')}`, /altered/],
    [`?status=open&limit=2&cursor=garbage`, /malformed/],
    [`?status=triaged&limit=2&cursor=${encodeURIComponent(cursor)}`, /different query/],
    [`?status=open&order=asc&limit=2&cursor=${encodeURIComponent(cursor)}`, /different query/]
  ]
  for (const [query, detail] of cases) {
    const response = await list(api, query)
    t.equal(response.statusCode, 400, query)
    t.match(response.json(), { title: 'Invalid cursor', detail }, query)
  }
  const otherTenant = await list(api, `?status=open&limit=2&cursor=${encodeURIComponent(cursor)}`, { tenant: 'globex' })
  t.equal(otherTenant.statusCode, 400, 'a cursor is bound to its tenant')
  const sameQueryOtherLimit = await list(api, `?limit=3&status=open&cursor=${encodeURIComponent(cursor)}`)
  t.equal(sameQueryOtherLimit.statusCode, 200, 'the page size may change between pages')
})

t.test('bad query parameters are 400s naming the parameter', async (t) => {
  const api = await buildRecordsApi(t)
  const cases: Array<[string, string]> = [
    ['?limit=0', '/limit'], ['?limit=101', '/limit'], ['?limit=abc', '/limit'],
    ['?status=closed', '/status'], ['?status=open,', '/status'], ['?severity=urgent', '/severity'],
    ['?category=rumour', '/category'], ['?order=sideways', '/order'], ['?overdue=maybe', '/overdue'],
    ['?colour=red', '/colour'], ['?status=open&status=triaged', '/status'], ['?tag=Bad%20Tag', '/tag']
  ]
  for (const [query, path] of cases) {
    const response = await list(api, query)
    t.equal(response.statusCode, 400, query)
    t.match(response.json().errors, [{ path, in: 'querystring' }], query)
  }
})

t.test('a tenant lists only its own records', async (t) => {
  const api = await buildRecordsApi(t)
  const mine = await api.create(aRecord({ asset: { name: 'shared-name', type: 'host' } }))
  await api.create(aRecord({ asset: { name: 'shared-name', type: 'host' } }), { tenant: 'globex' })
  for (const query of ['', '?asset=shared-name', '?status=open', '?severity=critical', '?category=vulnerability']) {
    const { ids } = await walk(api, query)
    t.same(ids, [mine.id], query)
  }
})
