import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { gzipSync } from 'node:zlib'
import { PutCommand } from '@aws-sdk/lib-dynamodb'
import { createHttpClient, deployedEnv, expectStatus, type BenchIssuer, type BenchStore } from '../lib/environment.ts'
import type { Fleet } from '../lib/fleet.ts'
import { peakRssMB } from '../lib/processes.ts'

export interface ImportSizes {
  results: number
  /** Conditional puts timed for the store's raw rate. */
  rawPuts: number
}

/** One import, timed; CPU seconds the function and the store spent on it, and the load meanwhile. */
export interface ImportRun {
  seconds: number
  resultsPerSecond: number
  counts: Record<string, number>
  cpuSeconds: { function: number, store: number }
  /** 1-minute load average when the import finished. */
  load: number
}

export interface ImportBenchResult {
  results: number
  reportMB: number
  gzipMB: number
  /**
   * Conditional PutItem (attribute_not_exists) of record-sized items, 16 at a time, same store,
   * same run: the mean of the rate before the imports and after them (a machine other work
   * shares drifts), both kept.
   */
  rawPutsPerSecond: number
  rawPutsPerSecondBeforeAfter: [number, number]
  /**
   * CPU ms one raw put cost the SDK client (this harness, which does nothing else meanwhile) and
   * the store, before the imports: the floor a new result's puts cost the function and the store.
   */
  rawPutCpuMs: { client: number, store: number }
  first: ImportRun
  unchanged: ImportRun
  /** VmHWM of the import-report process after both imports. */
  peakRssMB: number
  /** VmRSS of the import-report process before the first import (started, one health check answered). */
  rssBeforeMB: number
  /** Of its RSS after both imports, the file-backed pages: node's own code, mapped from its binary (the rest is anonymous: heap, malloc, stacks). */
  rssFileMB: number
  /** The settings from its Knative Service it ran with (NODE_OPTIONS, MALLOC_ARENA_MAX: bench/lib/environment.ts). */
  settings: Record<string, string>
}

const TENANT = 'bench-import'

/** A Semgrep-like report: `results` results over 40 rules and 500 files, each with a partial fingerprint and a snippet. */
export function benchReport (results: number): string {
  const rules = Array.from({ length: 40 }, (_, i) => ({
    id: `bench.rule-${i}`,
    shortDescription: { text: `Bench rule ${i}` },
    fullDescription: { text: `Explains why bench rule ${i} matters, how it is exploited and how to fix it. `.repeat(4) },
    helpUri: `https://example.com/rules/${i}`,
    defaultConfiguration: { level: ['error', 'warning', 'note'][i % 3] },
    properties: { tags: ['security', `external/cwe/cwe-${79 + i}`], 'security-severity': String((i % 10) + 0.5) }
  }))
  return JSON.stringify({
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'BenchScanner', version: '1.0.0', rules } },
      results: Array.from({ length: results }, (_, i) => ({
        ruleId: `bench.rule-${i % 40}`,
        ruleIndex: i % 40,
        message: { text: `Finding ${i}: user input reaches a sensitive sink in handler ${i % 997}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: `src/module-${i % 500}/file-${i % 37}.js`, uriBaseId: '%SRCROOT%' }, region: { startLine: 1 + (i % 4000), snippet: { text: `  sink(request.query.param${i % 13})` } } } }],
        partialFingerprints: { primaryLocationLineHash: `${i.toString(16).padStart(16, '0')}:1` }
      }))
    }]
  })
}

/**
 * The import of a large report through the import-report bundle (202, then processed in the
 * background): results per second for a first import (every result a new record) and for the
 * same report again (every result unchanged), the function's peak RSS, and beside them the
 * store's own rate for the write a new record cannot do without (a conditional put), measured
 * in the same run against the same dynalite.
 */
export async function measureImport (options: { store: BenchStore, issuer: BenchIssuer, fleet: Fleet, sizes: ImportSizes, log: (line: string) => void }): Promise<ImportBenchResult> {
  const { store, issuer, fleet, sizes, log } = options
  const report = benchReport(sizes.results)
  const gzipped = gzipSync(report)
  const clientCpu = process.cpuUsage()
  const storeCpu = cpuSeconds(store.pid)
  const rawBefore = await rawPutRate(store, sizes.rawPuts)
  const rawPutCpuMs = { client: cpuMs(process.cpuUsage(clientCpu)) / sizes.rawPuts, store: (cpuSeconds(store.pid) - storeCpu) * 1000 / sizes.rawPuts }
  log(`import: raw conditional PutItem ${rawBefore.toFixed(0)} /s at 16 (CPU per put: SDK client ${rawPutCpuMs.client.toFixed(2)} ms, store ${rawPutCpuMs.store.toFixed(2)} ms)`)

  const rssBeforeMB = statusMB(fleet.pid('import-report'), 'VmRSS')
  const client = createHttpClient(fleet.url('import-report'))
  const token = await issuer.token(TENANT)
  const cpu = () => ({ function: cpuSeconds(fleet.pid('import-report')), store: cpuSeconds(store.pid) })
  const run = async (label: string): Promise<ImportRun> => {
    const started = performance.now()
    const cpuBefore = cpu()
    const posted = await expectStatus(client.call('POST', '/v1/imports?asset=bench-shop&assetType=repository', {
      authorization: `Bearer ${token}`, 'content-type': 'application/sarif+json', 'content-encoding': 'gzip'
    }, gzipped), 202, `import (${label})`)
    const { id } = JSON.parse(posted.body) as { id: string }
    for (;;) {
      const response = await expectStatus(client.call('GET', `/v1/imports/${id}`, { authorization: `Bearer ${token}` }), 200, 'import status')
      const body = JSON.parse(response.body) as { status: string, counts: Record<string, number>, errors: unknown[] }
      if (body.status === 'failed') throw new Error(`import ${label} failed: ${JSON.stringify(body.errors)}`)
      if (body.status === 'succeeded') {
        const seconds = (performance.now() - started) / 1000
        const cpuAfter = cpu()
        const cpuSpent = { function: cpuAfter.function - cpuBefore.function, store: cpuAfter.store - cpuBefore.store }
        const load = loadavg()[0]!
        const perResult = (seconds: number) => `${(seconds * 1000 / sizes.results).toFixed(2)} ms/result`
        log(`import: ${label} ${sizes.results} results in ${seconds.toFixed(1)} s (${(sizes.results / seconds).toFixed(0)} /s; CPU function ${cpuSpent.function.toFixed(1)} s = ${perResult(cpuSpent.function)}, store ${cpuSpent.store.toFixed(1)} s = ${perResult(cpuSpent.store)}; load ${load.toFixed(1)}) ${JSON.stringify(body.counts)}`)
        return { seconds, resultsPerSecond: sizes.results / seconds, counts: body.counts, cpuSeconds: cpuSpent, load }
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  try {
    const first = await run('first import')
    const unchanged = await run('unchanged re-import')
    const rawAfter = await rawPutRate(store, sizes.rawPuts)
    log(`import: raw conditional PutItem ${rawAfter.toFixed(0)} /s at 16 (after the imports)`)
    return {
      results: sizes.results,
      reportMB: Buffer.byteLength(report) / 1e6,
      gzipMB: gzipped.length / 1e6,
      rawPutsPerSecond: (rawBefore + rawAfter) / 2,
      rawPutsPerSecondBeforeAfter: [rawBefore, rawAfter],
      rawPutCpuMs,
      first,
      unchanged,
      peakRssMB: peakRssMB(fleet.pid('import-report')),
      rssBeforeMB,
      rssFileMB: statusMB(fleet.pid('import-report'), 'RssFile'),
      settings: deployedEnv('import-report')
    }
  } finally {
    client.close()
  }
}

/** A memory figure of /proc/PID/status (VmRSS, RssFile…), in MB. */
function statusMB (pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024 / 1e6
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const cpuMs = ({ user, system }: NodeJS.CpuUsage) => (user + system) / 1000

/** Conditional puts of items the size of a stored record, 16 in flight, as the data layer sends them. */
async function rawPutRate (store: BenchStore, count: number): Promise<number> {
  const description = 'x'.repeat(600)
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      const id = `${next++}-${randomUUID()}`
      await store.documents.send(new PutCommand({
        TableName: store.tableName,
        Item: { pk: `T#bench-raw#R#${id}`, sk: 'RECORD', id, title: `raw put ${id}`, description, severity: 'high', status: 'open', version: 1 },
        // The same condition a record insert carries.
        ConditionExpression: 'attribute_not_exists(pk)'
      }))
    }
  }))
  return count / ((performance.now() - started) / 1000)
}
