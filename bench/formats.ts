/**
 * Throughput of the formats, in-process against dynalite (the test harness's app and store):
 * - a CycloneDX BOM against a SARIF report with the same number of findings, each imported and
 *   then imported again (all unchanged), alternating, ms per finding;
 * - a VEX document of K statements (each deciding one record) against K single updates of the
 *   same records through the data layer (the store work of K PATCHes without HTTP), with the
 *   same concurrency as the VEX applies them.
 * Alone it prints the figures and asserts nothing:
 *
 *   node bench/formats.ts [findings] [statements] [rounds]
 */
import type { Test } from 'tap'
import { buildRecordsApi, type RecordsApiHarness } from '../test/support/records-api.ts'
import { aReport, importReport } from '../test/support/imports-api.ts'
import { inPool } from '../shared/imports/concurrency.ts'
import { etagOf } from '../shared/records/etag.ts'
import { updateRecord } from '../shared/operations/update-record.ts'
import type { SecurityRecord } from '../shared/records/schema.ts'

const [findings = 2000, statements = 2000, rounds = 2] = process.argv.slice(2).map(Number)

const teardowns: Array<() => Promise<void>> = []
/** Just what the harness asks of a tap test: checks that count nothing, teardowns run at the end. */
const harness = {
  teardown: (fn: () => Promise<void>) => { teardowns.push(fn) },
  ok: (value: unknown, message?: string) => { if (!value) throw new Error(message) }
} as unknown as Test

/** A BOM of `count` vulnerabilities, one component each; rated by a CVSS vector the server scores, or, like SARIF levels, by severity alone. */
function bom (count: number, prefix: string, rating: 'vector' | 'severity' = 'vector'): string {
  const components = Array.from({ length: count }, (_, i) => ({ 'bom-ref': `c${i}`, type: 'library', name: `${prefix}-${i}`, version: '1.0.0', purl: `pkg:npm/${prefix}-${i}@1.0.0` }))
  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    metadata: { tools: { components: [{ type: 'application', name: 'bench-scanner', version: '1' }] } },
    components,
    vulnerabilities: components.map((_, i) => ({
      id: `CVE-2026-${String(10000 + i)}`,
      ratings: [rating === 'vector' ? { method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' } : { severity: 'high' }],
      affects: [{ ref: `c${i}` }]
    }))
  })
}

async function timed (work: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await work()
  return performance.now() - start
}

async function importsPerFinding (api: RecordsApiHarness) {
  const times = { sarif: { first: [] as number[], again: [] as number[] }, cyclonedx: { first: [] as number[], again: [] as number[] } }
  for (let round = 0; round < rounds; round++) {
    const sarif = aReport(Array.from({ length: findings }, (_, i) => ({ rule: `rule-${i % 50}`, line: i + 1 })), `bench-sarif-${round}`)
    const query = `asset=sarif-${round}&assetType=repository`
    times.sarif.first.push(await timed(() => importReport(harness, api, sarif, { query })) / findings)
    times.sarif.again.push(await timed(() => importReport(harness, api, sarif, { query })) / findings)
    // Rated by severity, as the SARIF report's results are by level: the same record work on both sides.
    const cyclonedx = bom(findings, `bench-${round}`, 'severity')
    const cdxQuery = `asset=bom-${round}&assetType=container_image`
    const headers = { 'content-type': 'application/vnd.cyclonedx+json' }
    times.cyclonedx.first.push(await timed(() => importReport(harness, api, cyclonedx, { query: cdxQuery, headers })) / findings)
    times.cyclonedx.again.push(await timed(() => importReport(harness, api, cyclonedx, { query: cdxQuery, headers })) / findings)
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  return {
    sarif: { first: median(times.sarif.first), again: median(times.sarif.again) },
    cyclonedx: { first: median(times.cyclonedx.first), again: median(times.cyclonedx.again) }
  }
}

async function vexAgainstPatches (api: RecordsApiHarness) {
  // Two sets of records from one BOM each: one decided by a VEX, the other by single updates.
  const headers = { 'content-type': 'application/vnd.cyclonedx+json' }
  await importReport(harness, api, bom(statements, 'vex'), { query: 'asset=vex&assetType=container_image', headers })
  await importReport(harness, api, bom(statements, 'patch'), { query: 'asset=patch&assetType=container_image', headers })
  const vex = {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': 'https://example.com/vex/bench',
    author: 'bench',
    timestamp: new Date().toISOString(),
    version: 1,
    statements: Array.from({ length: statements }, (_, i) => ({ vulnerability: { name: `CVE-2026-${String(10000 + i)}` }, products: [{ '@id': `pkg:npm/vex-${i}@1.0.0` }], status: 'not_affected', justification: 'component_not_present' }))
  }
  const authorization = await api.bearer()
  let applied = 0
  const vexMs = await timed(async () => {
    const response = await api.app.inject({ method: 'POST', url: '/v1/vex', headers: { authorization, 'content-type': 'application/openvex+json' }, payload: JSON.stringify(vex) })
    applied = response.json().counts.applied
  })
  const records: SecurityRecord[] = []
  let after: string | undefined
  do {
    const page = await api.data.records.list('acme', { asset: 'patch', order: 'asc' }, 100, after, new Date())
    records.push(...page.items)
    after = page.resumeAfter
  } while (after)
  const context = { actor: { sub: 'client:bench', clientId: 'bench', tenant: 'acme' }, now: new Date(), requestId: 'bench' }
  const patchMs = await timed(() => inPool(records, async (record) => {
    const current = (await api.data.records.get('acme', record.id))!
    await updateRecord(api.data, { ...context, now: new Date() }, record.id, { status: 'not_affected', statusReason: 'component_not_present (VEX https://example.com/vex/bench by bench)' }, etagOf(current))
  }))
  return { statements, applied, patched: records.length, vexMs, patchMs, ratio: vexMs / patchMs }
}

try {
  const api = await buildRecordsApi(harness, { config: { RATE_LIMIT: 'off' } as never })
  const imports = await importsPerFinding(api)
  console.log(`imports, ms per finding (median of ${rounds}, ${findings} findings each):`)
  console.log(`  SARIF      first ${imports.sarif.first.toFixed(3)}  again ${imports.sarif.again.toFixed(3)}`)
  console.log(`  CycloneDX  first ${imports.cyclonedx.first.toFixed(3)}  again ${imports.cyclonedx.again.toFixed(3)}`)
  console.log(`  CycloneDX ÷ SARIF: first ${(imports.cyclonedx.first / imports.sarif.first).toFixed(2)}, again ${(imports.cyclonedx.again / imports.sarif.again).toFixed(2)}`)
  const vex = statements > 0 ? await vexAgainstPatches(api) : undefined
  if (vex) console.log(`VEX of ${vex.statements} statements: ${vex.vexMs.toFixed(0)} ms (${vex.applied} applied); ${vex.patched} single updates: ${vex.patchMs.toFixed(0)} ms; VEX ÷ updates ${vex.ratio.toFixed(2)}`)
  console.log(`load average after: ${(await import('node:os')).loadavg().map((load) => load.toFixed(2)).join(' ')}`)
} finally {
  for (const teardown of teardowns.reverse()) await teardown()
}
