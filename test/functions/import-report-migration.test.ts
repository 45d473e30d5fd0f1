import t from 'tap'
import { v7 as uuidv7 } from 'uuid'
import { importRecordId } from '../../shared/imports/import-record-id.ts'
import { legacyScopePrefix } from '../../shared/imports/import-scope.ts'
import { sarif } from '../../shared/imports/sarif/sarif-format.ts'
import type { RunContext } from '../../shared/imports/sarif/run-context.ts'
import type { ImportAsset } from '../../shared/imports/report-format.ts'
import { buildNewRecord } from '../../shared/records/model.ts'
import { insertRecord } from '../../shared/operations/record-writes.ts'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { aReport, fixture, history, importReport, patch, records } from '../support/imports-api.ts'

/**
 * Records an import wrote before the asset's type and environment were part of the scope, before
 * results were told apart by message and order, and before import ownership was a mark: the
 * first import after the change takes them over or resolves them; nothing is duplicated, and
 * nothing a client made is closed.
 */

const PRODUCTION: ImportAsset = { name: 'shop', type: 'repository', environment: 'production' }

/** Writes what the earlier import made of a report: one record per distinct earlier fingerprint (the last result's), unmarked, with that import's record id. */
async function importedTheEarlierWay (api: RecordsApiHarness, report: string, asset = PRODUCTION): Promise<string> {
  const log = JSON.parse(report)
  const run = sarif.runContext(log.runs[0], undefined) as RunContext
  const importOf = { id: uuidv7(), createdAt: new Date().toISOString() }
  const byFingerprint = new Map<string, ReturnType<typeof buildNewRecord>>()
  const context = { actor: { sub: 'client:old', clientId: 'old', tenant: 'acme' }, now: new Date(importOf.createdAt), requestId: '' }
  for (const result of log.runs[0].results as unknown[]) {
    const mapped = sarif.mapResult(result, run, asset, importOf.id)
    if (mapped.kind !== 'finding') continue
    const fingerprint = mapped.legacyFingerprint!
    byFingerprint.set(fingerprint, buildNewRecord({ ...mapped.finding, fingerprint }, importRecordId(importOf, fingerprint), context))
  }
  for (const record of byFingerprint.values()) await insertRecord(api.data, { ...context, requestId: `${importOf.id}:0:0` }, record)
  await api.settled()
  return importOf.id
}

t.test('the first import after the change takes over the records the earlier scheme made: no duplicate, then nothing more to write', async (t) => {
  const api = await buildRecordsApi(t)
  const report = await fixture('bandit-1.9.4-one-line.sarif')
  await importedTheEarlierWay(api, report)
  const earlier = await records(api)
  t.equal(earlier.length, 2, 'the earlier scheme collapsed five results into two records')

  const first = await importReport(t, api, report)
  t.match(first.counts, { results: 5, created: 3, updated: 2, resolved: 0, rejected: 0 })
  const items = await records(api)
  t.equal(items.length, 5)
  for (const record of earlier) {
    const now = items.find((item) => item.id === record.id)!
    t.ok(now, 'kept its id (and history)')
    t.not(now.fingerprint, record.fingerprint, 'with the new fingerprint')
    const [latest] = await history(api, record.id)
    t.match(latest, { version: 2, action: 'updated' })
    t.ok(latest!.changes.some((change) => change.path === '/fingerprint' && change.to === now.fingerprint), 'the history says the fingerprint moved')
  }
  const second = await importReport(t, api, report)
  t.match(second.counts, { created: 0, updated: 0, unchanged: 5, resolved: 0 })
})

t.test('a record of the earlier scheme that the first import after the change no longer has is resolved, also once a person changed it', async (t) => {
  const api = await buildRecordsApi(t)
  await importedTheEarlierWay(api, aReport([{ rule: 'r1', line: 1 }, { rule: 'r2', line: 2 }, { rule: 'r3', line: 3 }]))
  const [triaged] = (await records(api)).filter((record) => record.source?.ruleId === 'r3')
  await patch(api, triaged!, { status: 'triaged' })
  const done = await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]))
  t.match(done.counts, { unchanged: 0, updated: 1, created: 0, resolved: 2 })
  t.same(Object.fromEntries((await records(api)).map((record) => [record.source!.ruleId, record.status])), { r1: 'open', r2: 'resolved', r3: 'resolved' })
})

t.test('a record a client made with an earlier-scheme fingerprint of the scope is neither taken over nor resolved', async (t) => {
  const api = await buildRecordsApi(t)
  const prefix = legacyScopePrefix('sarif', { tool: 'ExampleScanner', category: '' }, 'shop')
  const report = aReport([{ rule: 'r1', line: 1 }])
  const legacyFingerprint = (sarif.mapResult(JSON.parse(report).runs[0].results[0], sarif.runContext(JSON.parse(report).runs[0], undefined) as RunContext, PRODUCTION, 'i') as { legacyFingerprint: string }).legacyFingerprint
  for (const fingerprint of [`${prefix}made-by-hand`, legacyFingerprint]) {
    await api.create({ title: fingerprint, category: 'vulnerability', severity: 'high', asset: PRODUCTION, fingerprint })
  }
  const done = await importReport(t, api, report)
  t.match(done.counts, { created: 1, updated: 0, resolved: 0 })
  const empty = await importReport(t, api, aReport([]))
  t.equal(empty.counts.resolved, 1, 'only the record the import made')
  t.same((await records(api)).filter((record) => record.status === 'open').map((record) => record.title).sort(), [`${prefix}made-by-hand`, legacyFingerprint].sort())
})

t.test('a record of the earlier scheme is another environment\'s to take over or resolve', async (t) => {
  const api = await buildRecordsApi(t)
  await importedTheEarlierWay(api, aReport([{ rule: 'r1', line: 1 }]))
  const development = await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]), { query: 'asset=shop&assetType=repository&environment=development' })
  t.match(development.counts, { created: 1, updated: 0, resolved: 0 })
  const empty = await importReport(t, api, aReport([]), { query: 'asset=shop&assetType=repository&environment=staging' })
  t.equal(empty.counts.resolved, 0)
  const production = (await records(api)).filter((record) => record.asset.environment === 'production')
  t.same(production.map((record) => [record.status, record.version]), [['open', 1]])
})
