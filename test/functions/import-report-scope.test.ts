import { readdir } from 'node:fs/promises'
import t from 'tap'
import { processImport } from '../../shared/imports/process-import.ts'
import { buildRecordsApi } from '../support/records-api.ts'
import { aReport, byRule, fixture, history, importReport, postReport, receive, records, SHOP, waitForImportOrSweep } from '../support/imports-api.ts'

/** What an import may close: only what its own scope created and its report no longer has. */

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ rule: 'r', line: from + i }))

t.test('two imports of one scope sent together apply one at a time, in the order received: the later report is what stays open', async (t) => {
  const api = await buildRecordsApi(t)
  const first = await receive(api, aReport(lines(0, 150)))
  const second = await receive(api, aReport(lines(150, 300)))
  await Promise.all([
    processImport(api.data, 'acme', second.id, { owner: 'b' }),
    processImport(api.data, 'acme', first.id, { owner: 'a' })
  ])
  const [a, b] = [await waitForImportOrSweep(api, first.id), await waitForImportOrSweep(api, second.id)]
  t.match(a.counts, { created: 150, resolved: 0 }, 'the first received applies first: nothing of its scope before it')
  t.match(b.counts, { created: 150, resolved: 150 }, 'the second resolves what the first reported and it does not')
  const items = await records(api)
  t.equal(items.length, 300)
  const open = items.filter((record) => record.status === 'open').map((record) => Number(/line (\d+)/.exec(record.title)![1])).sort((x, y) => x - y)
  t.same(open, lines(150, 300).map(({ line }) => line), 'exactly the later report\'s findings are open')
})

t.test('a result rejected or unidentifiable never closes its record', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport([{ rule: 'r1', line: 1 }, { rule: 'r2', line: 2 }, { rule: 'r3', line: 3 }]))
  const report = JSON.parse(aReport([{ rule: 'r1', line: 1 }, { rule: 'r2', line: 2 }, { rule: 'r3', line: 3 }]))
  // A rule gaining a help URI no record reference may hold; levels that name Object's own properties.
  report.runs[0].tool.driver.rules[0].helpUri = 'https://example.com/rules/{id}'
  report.runs[0].results[1].level = 'constructor'
  report.runs[0].results[2].level = '__proto__'
  const done = await importReport(t, api, JSON.stringify(report))
  t.match(done.counts, { rejected: 0, resolved: 0 })
  t.same((await records(api)).map((record) => record.status), ['open', 'open', 'open'])
  t.notOk(byRule(await records(api), 'r1')[0]!.references, 'the help URI that is no valid reference is left out')

  // A result that names no rule cannot be told which record it is: its scope resolves nothing.
  const ruleless = JSON.parse(aReport([{ rule: 'r1', line: 1 }]))
  ruleless.runs[0].results.push({ message: { text: 'r2 at line 2' } })
  const unidentified = await importReport(t, api, JSON.stringify(ruleless))
  t.match(unidentified.counts, { rejected: 1, resolved: 0 })
  t.match(unidentified.errors, [{ path: '/runs/0/results/1' }, { path: '', message: /not resolved/ }])
  t.same((await records(api)).map((record) => record.status), ['open', 'open', 'open'])
})

t.test('the asset\'s type and environment are part of the scope: another environment neither resolves nor rewrites', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport([{ rule: 'r1', line: 1 }, { rule: 'r2', line: 2 }]))
  const development = await importReport(t, api, aReport([]), { query: 'asset=shop&assetType=repository&environment=development' })
  t.equal(development.counts.resolved, 0, 'an empty development import closes no production finding')
  const staging = await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]), { query: 'asset=shop&assetType=repository&environment=staging' })
  t.match(staging.counts, { created: 1, updated: 0, resolved: 0 })
  const noEnvironment = await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]), { query: 'asset=shop&assetType=repository' })
  t.match(noEnvironment.counts, { created: 1, updated: 0, resolved: 0 })
  const otherType = await importReport(t, api, aReport([]), { query: 'asset=shop&assetType=container_image&environment=production' })
  t.equal(otherType.counts.resolved, 0)
  const production = (await records(api)).filter((record) => record.asset.environment === 'production')
  t.same(production.map((record) => [record.status, record.version]), [['open', 1], ['open', 1]], 'production\'s records untouched')
  t.equal((await records(api)).length, 4)
  const again = await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]))
  t.match(again.counts, { unchanged: 1, resolved: 1 }, 'production\'s own scope still resolves its records')
})

t.test('only records an import created are import-owned: a record made by hand with an import\'s fingerprint prefix is never resolved', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]))
  const [imported] = await records(api)
  const prefix = imported!.fingerprint!.slice(0, imported!.fingerprint!.lastIndexOf(':') + 1)
  const made = await api.app.inject({
    method: 'POST',
    url: '/v1/records',
    headers: { authorization: await api.bearer(), 'content-type': 'application/json' },
    payload: { title: 'made by hand', category: 'vulnerability', severity: 'high', asset: { name: 'shop', type: 'repository', environment: 'production' }, fingerprint: `${prefix}x` }
  })
  t.equal(made.statusCode, 201)
  const marked = await api.app.inject({
    method: 'POST',
    url: '/v1/records',
    headers: { authorization: await api.bearer(), 'content-type': 'application/json' },
    payload: { title: 'claims ownership', category: 'vulnerability', severity: 'high', asset: { name: 'shop', type: 'repository' }, importScope: prefix }
  })
  t.equal(marked.statusCode, 400, 'the ownership mark is no field a client may send')
  const done = await importReport(t, api, aReport([]))
  t.equal(done.counts.resolved, 1, 'only the imported record')
  const statuses = Object.fromEntries((await records(api)).map((record) => [record.title, record.status]))
  t.same(statuses, { 'made by hand': 'open', 'r1 at line 1': 'resolved' })
})

t.test('results of one rule at one line told apart only by their message (a real Bandit report) are records of their own; an identical re-import writes nothing', async (t) => {
  const api = await buildRecordsApi(t)
  const report = await fixture('bandit-1.9.4-one-line.sarif')
  const first = await importReport(t, api, report)
  t.match(first.counts, { results: 5, created: 5, unchanged: 0 })
  const items = await records(api)
  t.same(items.map((record) => record.title).sort(), [
    'Possible hardcoded password: \'\'',
    'Possible hardcoded password: \'\'',
    'Possible hardcoded password: \'changeme\'',
    'Possible hardcoded password: \'hunter2\'',
    'Possible hardcoded password: \'s3cr3t\''
  ])
  const second = await importReport(t, api, report)
  t.match(second.counts, { results: 5, created: 0, updated: 0, unchanged: 5, resolved: 0, reopened: 0 })
  t.same(await records(api), items, 'every record exactly as it was')
})

t.test('every real and hand-written fixture imported twice: the second import is all unchanged and writes no record', async (t) => {
  const api = await buildRecordsApi(t)
  const files = (await readdir(new URL('../fixtures/sarif/', import.meta.url))).filter((name) => name.endsWith('.sarif') && name !== 'wrong-version.sarif')
  t.ok(files.length >= 7, `${files.length} fixtures`)
  for (const file of files) {
    const asset = file.replace(/\W/g, '-')
    const query = `asset=${asset}&assetType=repository&environment=production`
    const report = await fixture(file)
    const first = await importReport(t, api, report, { query })
    t.equal(first.status, 'succeeded', file)
    const before = await records(api, asset)
    const histories = await Promise.all(before.map(async (record) => (await history(api, record.id)).length))
    const second = await importReport(t, api, report, { query })
    const findings = first.counts.created! + first.counts.updated! + first.counts.unchanged!
    t.same(second.counts, { ...first.counts, created: 0, updated: 0, reopened: 0, resolved: 0, unchanged: findings }, `${file}: all unchanged`)
    t.same(await records(api, asset), before, `${file}: no record changed (versions included)`)
    t.same(await Promise.all(before.map(async (record) => (await history(api, record.id)).length)), histories, `${file}: no history written`)
  }
})

t.test('an import is 202 (queued behind the one before it) when another import of its scope has not finished', async (t) => {
  const api = await buildRecordsApi(t)
  const waiting = await receive(api, aReport([{ rule: 'r1', line: 1 }]))
  const response = await postReport(api, aReport([{ rule: 'r2', line: 2 }]), { query: SHOP })
  t.equal(response.statusCode, 202, 'not applied before the one received earlier')
  const later = await waitForImportOrSweep(api, response.json().id)
  const earlier = await waitForImportOrSweep(api, waiting.id)
  t.match(earlier.counts, { created: 1, resolved: 0 })
  t.match(later.counts, { created: 1, resolved: 1 })
  t.same((await records(api)).map((record) => [record.source?.ruleId, record.status]).sort(), [['r1', 'resolved'], ['r2', 'open']])
})

t.test('an import that finished but died before leaving its scope\'s line does not hold the next one up', async (t) => {
  const api = await buildRecordsApi(t)
  const first = await receive(api, aReport([{ rule: 'r1', line: 1 }]))
  const second = await receive(api, aReport([{ rule: 'r2', line: 2 }]))
  let leaving = 0
  api.store.client.middlewareStack.add((next) => async (args) => {
    const input = (args as { input: { UpdateExpression?: string } }).input
    if (input.UpdateExpression?.startsWith('DELETE') && leaving++ === 0) throw Object.assign(new Error('injected crash'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
    return next(args)
  }, { step: 'initialize', name: 'crashOnLeaving' })
  t.match(await processImport(api.data, 'acme', first.id, { owner: 'a' }), { status: 'succeeded' }, 'finished; leaving the line failed')
  const done = await processImport(api.data, 'acme', second.id, { owner: 'b' })
  t.match(done, { status: 'succeeded', counts: { created: 1, resolved: 1 } }, 'the next one finds it finished, takes it out of the line and applies')
})
