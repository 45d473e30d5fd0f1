import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import type { Test } from 'tap'
import { v7 as uuidv7 } from 'uuid'
import { etagOf } from '../../shared/records/etag.ts'
import { buildNewRecord } from '../../shared/records/model.ts'
import type { RecordCreate, SecurityRecord } from '../../shared/records/schema.ts'
import { inPool } from '../../shared/imports/concurrency.ts'
import { updateRecord } from '../../shared/operations/update-record.ts'
import { aReport, postReport, type ImportBody } from '../../test/support/imports-api.ts'
import { buildRecordsApi, type RecordsApiHarness } from '../../test/support/records-api.ts'
import type { BenchStore } from '../lib/environment.ts'
import { batchWrite, map, storedItem } from '../lib/records.ts'

export interface FormatsSizes {
  /** Findings per report, each format. */
  findings: number
  /** Rounds of both formats' first import and re-import, the order alternating. */
  rounds: number
  /** Statements of the VEX document, and single updates beside it. */
  statements: number
  /** Rounds of the VEX against the updates, the order alternating. */
  vexRounds: number
  /** Pause after seeding a round's records, so whichever goes first does not pay for the store digesting them. */
  settleMs: number
}

/** Median ms per finding of an import timed from the POST to `succeeded`, and every sample. */
export interface ImportTimes { first: number, again: number, samples: { first: number[], again: number[] } }

export interface VexRound { vexMs: number, updatesMs: number, applied: number, updated: number, vexFirst: boolean }

export interface FormatsBenchResult {
  sizes: FormatsSizes
  sarif: ImportTimes
  cyclonedx: ImportTimes
  /** Median over the rounds of each round's CycloneDX ÷ SARIF ms per finding. */
  cyclonedxToSarif: { first: number, again: number }
  vex: { rounds: VexRound[], vexMs: number, updatesMs: number }
  load: { before: number[], after: number[] }
}

/** What buildRecordsApi asks of a tap test: checks that throw, teardowns run at the end. */
function benchHarness () {
  const teardowns: Array<() => Promise<void>> = []
  const harness = {
    teardown: (fn: () => Promise<void>) => { teardowns.push(fn) },
    ok: (value: unknown, message?: string) => { if (!value) throw new Error(message) }
  } as unknown as Test
  return { harness, close: async () => { for (const teardown of teardowns.reverse()) await teardown() } }
}

/** A BOM of `count` vulnerabilities, one component each, rated by severity as SARIF results are by level: the same record work. */
export function benchBom (count: number, prefix: string): string {
  const components = Array.from({ length: count }, (_, i) => ({ 'bom-ref': `c${i}`, type: 'library', name: `${prefix}-${i}`, version: '1.0.0', purl: `pkg:npm/${prefix}-${i}@1.0.0` }))
  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    metadata: { tools: { components: [{ type: 'application', name: 'bench-scanner', version: '1' }] } },
    components,
    vulnerabilities: components.map((_, i) => ({ id: vulnerabilityOf(i), ratings: [{ severity: 'high' }], affects: [{ ref: `c${i}` }] }))
  })
}

const vulnerabilityOf = (index: number) => `CVE-2026-${String(10000 + index)}`
function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length / 2
  return Number.isInteger(middle) ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!
}

async function timed (work: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await work()
  return performance.now() - started
}

/** Posts a report and follows its import to the end, asking every 5 ms (a coarser poll would blur a fast re-import). */
async function importAndWait (api: RecordsApiHarness, body: string, options: { query: string, headers: Record<string, string> }): Promise<ImportBody> {
  const posted = await postReport(api, body, options)
  if (![201, 202].includes(posted.statusCode)) throw new Error(`import answered ${posted.statusCode}: ${posted.body.slice(0, 300)}`)
  const authorization = await api.bearer()
  for (;;) {
    const response = await api.app.inject({ method: 'GET', url: `/v1/imports/${posted.json().id}`, headers: { authorization } })
    const state = response.json() as ImportBody
    if (state.status === 'succeeded' || state.status === 'failed') return state
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * Both formats' first import and identical re-import, per round, the format going first alternating,
 * after an untimed round of a tenth the size (both formats' code compiled before the first sample).
 */
async function importsPerFinding (api: RecordsApiHarness, sizes: FormatsSizes, log: (line: string) => void) {
  const samples = { sarif: { first: [] as number[], again: [] as number[] }, cyclonedx: { first: [] as number[], again: [] as number[] } }
  const imports = {
    sarif: (round: string, count: number) => ({ body: aReport(Array.from({ length: count }, (_, i) => ({ rule: `rule-${i % 50}`, line: i + 1 })), `bench-sarif-${round}`), query: `asset=sarif-${round}&assetType=repository`, headers: {} }),
    cyclonedx: (round: string, count: number) => ({ body: benchBom(count, `bench-${round}`), query: `asset=bom-${round}&assetType=container_image`, headers: { 'content-type': 'application/vnd.cyclonedx+json' } })
  }
  /** ms per finding of the first import and of the same report again. */
  const importTwice = async (format: keyof typeof imports, round: string, count: number): Promise<[number, number]> => {
    const { body, query, headers } = imports[format](round, count)
    let counts: Record<string, number> = {}
    const importOnce = async () => {
      const done = await importAndWait(api, body, { query, headers })
      if (done.status !== 'succeeded') throw new Error(`${format} import failed: ${JSON.stringify(done.errors)}`)
      counts = done.counts
    }
    const first = await timed(importOnce) / count
    if (counts.created !== count) throw new Error(`${format} first import created ${counts.created} of ${count}: ${JSON.stringify(counts)}`)
    const again = await timed(importOnce) / count
    if (counts.unchanged !== count) throw new Error(`${format} re-import left ${counts.unchanged} of ${count} unchanged: ${JSON.stringify(counts)}`)
    return [first, again]
  }
  const warmup = Math.max(1, Math.round(sizes.findings / 10))
  for (const format of ['sarif', 'cyclonedx'] as const) await importTwice(format, 'warmup', warmup)
  for (let round = 0; round < sizes.rounds; round++) {
    for (const format of round % 2 === 0 ? ['sarif', 'cyclonedx'] as const : ['cyclonedx', 'sarif'] as const) {
      const [first, again] = await importTwice(format, String(round), sizes.findings)
      samples[format].first.push(first)
      samples[format].again.push(again)
    }
    log(`formats: round ${round + 1}/${sizes.rounds} ms per finding: SARIF ${samples.sarif.first.at(-1)!.toFixed(3)} / ${samples.sarif.again.at(-1)!.toFixed(3)}, CycloneDX ${samples.cyclonedx.first.at(-1)!.toFixed(3)} / ${samples.cyclonedx.again.at(-1)!.toFixed(3)} (first / again)`)
  }
  const times = (format: keyof typeof samples): ImportTimes => ({ first: median(samples[format].first), again: median(samples[format].again), samples: samples[format] })
  // Each round's two imports ran minutes apart at most: the median of the rounds' ratios is what load elsewhere moves least.
  const ratios = (step: 'first' | 'again') => median(samples.cyclonedx[step].map((value, round) => value / samples.sarif[step][round]!))
  return { sarif: times('sarif'), cyclonedx: times('cyclonedx'), cyclonedxToSarif: { first: ratios('first'), again: ratios('again') } }
}

/** `count` open records of one tenant, each a vulnerability in a component of its own, written straight into the store. */
async function seed (api: RecordsApiHarness, tenant: string, count: number): Promise<void> {
  const now = new Date()
  const context = { actor: { sub: 'client:seed', clientId: 'seed', tenant }, now }
  const records = (function * () {
    for (let i = 0; i < count; i++) {
      const input = {
        title: `${vulnerabilityOf(i)} in bench-${i}`,
        category: 'vulnerability',
        severity: 'high',
        asset: { name: 'bench-image', type: 'container_image' },
        component: { purl: `pkg:npm/bench-${i}@1.0.0`, name: `bench-${i}`, version: '1.0.0' },
        vulnerabilityIds: [vulnerabilityOf(i)],
        source: { tool: 'bench-scanner', ruleId: vulnerabilityOf(i) }
      }
      yield buildNewRecord(input as RecordCreate, uuidv7(), context)
    }
  })()
  await batchWrite(api.store, api.store.tableName, map(records, (record) => storedItem(tenant, record)))
}

async function tenantRecords (api: RecordsApiHarness, tenant: string): Promise<SecurityRecord[]> {
  const records: SecurityRecord[] = []
  let after: string | undefined
  do {
    const page = await api.data.records.list(tenant, { order: 'asc' }, 100, after, new Date())
    records.push(...page.items)
    after = page.resumeAfter
  } while (after)
  return records
}

const REASON = 'component_not_present'

/**
 * One round: a VEX of K statements posted to `POST /v1/vex` (each deciding one record of a tenant
 * of K) against K single updates of K other records (another tenant) through the data layer's
 * updateRecord, the store work of a PATCH without its HTTP, each with the version the list gave
 * (a PATCH's If-Match), 16 at a time as the VEX applies them. Same process, same store.
 */
async function vexRound (api: RecordsApiHarness, sizes: FormatsSizes, round: number): Promise<VexRound> {
  const vexTenant = `bench-vex-${round}`
  const updateTenant = `bench-update-${round}`
  await seed(api, vexTenant, sizes.statements)
  await seed(api, updateTenant, sizes.statements)
  await new Promise((resolve) => setTimeout(resolve, sizes.settleMs))
  const document = JSON.stringify({
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': `https://example.com/vex/bench-${round}`,
    author: 'bench',
    timestamp: new Date().toISOString(),
    version: 1,
    statements: Array.from({ length: sizes.statements }, (_, i) => ({ vulnerability: { name: vulnerabilityOf(i) }, products: [{ '@id': `pkg:npm/bench-${i}@1.0.0` }], status: 'not_affected', justification: REASON }))
  })
  const authorization = await api.bearer({ tenant: vexTenant, sub: 'client:bench' })
  const toUpdate = await tenantRecords(api, updateTenant)
  let applied = 0
  const vex = async () => {
    const response = await api.app.inject({ method: 'POST', url: '/v1/vex', headers: { authorization, 'content-type': 'application/openvex+json' }, payload: document })
    if (response.statusCode !== 200) throw new Error(`POST /v1/vex answered ${response.statusCode}: ${response.body.slice(0, 500)}`)
    applied = (response.json() as { counts: { applied: number } }).counts.applied
  }
  let updated = 0
  const context = { actor: { sub: 'client:bench', clientId: 'bench', tenant: updateTenant }, requestId: 'bench' }
  const updates = () => inPool(toUpdate, async (record) => {
    await updateRecord(api.data, { ...context, now: new Date() }, record.id, { status: 'not_affected', statusReason: `${REASON} (VEX https://example.com/vex/bench-${round} by bench)` }, etagOf(record))
    updated++
  })
  const vexFirst = round % 2 === 0
  const times: { vex?: number, updates?: number } = {}
  for (const [name, work] of vexFirst ? [['vex', vex], ['updates', updates]] as const : [['updates', updates], ['vex', vex]] as const) times[name] = await timed(work)
  const { vex: vexMs = 0, updates: updatesMs = 0 } = times
  if (applied !== sizes.statements || updated !== sizes.statements) throw new Error(`the VEX applied ${applied}, the updates changed ${updated}, of ${sizes.statements}`)
  return { vexMs, updatesMs, applied, updated, vexFirst }
}

/**
 * The formats' throughput, in-process (the test harness's app) over the bench's store: a CycloneDX
 * BOM against a SARIF report of as many findings, each imported then imported again (all
 * unchanged), ms per finding; a VEX of K statements against K single updates' store work.
 */
export async function measureFormats (options: { store: BenchStore, sizes: FormatsSizes, log: (line: string) => void }): Promise<FormatsBenchResult> {
  const { store, sizes, log } = options
  const before = loadavg()
  const { harness, close } = benchHarness()
  // The harness's store is the bench's dynalite (in its own process), a table of its own.
  const endpoint = process.env.DYNAMODB_ENDPOINT
  process.env.DYNAMODB_ENDPOINT = store.endpoint
  let api: RecordsApiHarness
  try {
    api = await buildRecordsApi(harness, { config: { RATE_LIMIT: 'off' } })
  } finally {
    if (endpoint === undefined) delete process.env.DYNAMODB_ENDPOINT
    else process.env.DYNAMODB_ENDPOINT = endpoint
  }
  try {
    const imports = await importsPerFinding(api, sizes, log)
    const rounds: VexRound[] = []
    for (let round = 0; round < sizes.vexRounds; round++) {
      rounds.push(await vexRound(api, sizes, round))
      const last = rounds.at(-1)!
      log(`formats: VEX of ${sizes.statements} statements ${last.vexMs.toFixed(0)} ms, ${sizes.statements} single updates ${last.updatesMs.toFixed(0)} ms (${(last.vexMs / last.updatesMs).toFixed(2)}×; ${last.vexFirst ? 'VEX' : 'updates'} first)`)
    }
    const sum = (key: 'vexMs' | 'updatesMs') => rounds.reduce((total, round) => total + round[key], 0)
    return { sizes, ...imports, vex: { rounds, vexMs: sum('vexMs'), updatesMs: sum('updatesMs') }, load: { before, after: loadavg() } }
  } finally {
    await close()
  }
}
