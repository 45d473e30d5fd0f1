import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { buildAll } from '../scripts/build.ts'
import { measureJsonParsing } from './json-parse.ts'
import { measureTokenVerification } from './token-verify.ts'
import { startBenchIssuer, startBenchStore } from './lib/environment.ts'
import { startFleet } from './lib/fleet.ts'
import type { BenchResults } from './report.ts'
import { measureColdStarts } from './sections/cold-start.ts'
import { measureFormats, type FormatsSizes } from './sections/formats.ts'
import { measureGateway } from './sections/gateway.ts'
import { measureImport, type ImportSizes } from './sections/import-report.ts'
import { measureListScaling, type ScalingSizes } from './sections/list-scaling.ts'
import { measureMetrics, type MetricsSizes } from './sections/metrics.ts'
import { measureRequestOverhead, OVERHEAD_TENANT, type Sizes } from './sections/request-overhead.ts'

export const SECTIONS = ['cold-start', 'overhead', 'gateway', 'token', 'json', 'list-scaling', 'import', 'metrics', 'formats'] as const
export type Section = typeof SECTIONS[number]

interface Plan {
  coldStartRuns: number
  overhead: Sizes
  gateway: Sizes
  token: { perBatch: number, batches: number }
  json: { perBatch: number, batches: number, createsPerBatch: number }
  scaling: ScalingSizes
  import: ImportSizes
  metrics: MetricsSizes
  formats: FormatsSizes
}

/** Sample counts: the full run fits in ten minutes on the 2-core reference machine; smoke in well under one. */
export const plans: Record<'full' | 'smoke', Plan> = {
  full: {
    coldStartRuns: 7,
    overhead: { c1: 400, warmup: 50, seconds: 5 },
    gateway: { c1: 300, warmup: 50, seconds: 4 },
    token: { perBatch: 1000, batches: 21 },
    json: { perBatch: 2000, batches: 21, createsPerBatch: 30 },
    scaling: { small: 1000, large: 50_000, samples: 80, peerRareSamples: 3, warmup: 20, settleMs: 5000 },
    import: { results: 25_000, rawPuts: 5000 },
    metrics: { small: 1000, large: 100_000, samples: 60, warmup: 10, writes: 200 },
    formats: { findings: 1000, rounds: 8, statements: 10_000, vexRounds: 2, settleMs: 5000 }
  },
  smoke: {
    coldStartRuns: 1,
    overhead: { c1: 10, warmup: 2, seconds: 0.5 },
    gateway: { c1: 10, warmup: 2, seconds: 0.5 },
    token: { perBatch: 50, batches: 3 },
    json: { perBatch: 50, batches: 3, createsPerBatch: 3 },
    scaling: { small: 600, large: 1200, samples: 5, peerRareSamples: 1, warmup: 1, settleMs: 0 },
    import: { results: 150, rawPuts: 100 },
    metrics: { small: 100, large: 1000, samples: 5, warmup: 1, writes: 10 },
    formats: { findings: 30, rounds: 2, statements: 40, vexRounds: 2, settleMs: 0 }
  }
}

function gitCommit (): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== ''
    return dirty ? `${commit}+uncommitted` : commit
  } catch {
    return 'unknown'
  }
}

/** Runs the chosen sections end to end; every process it starts is stopped before it returns. */
export async function runBenchmarks (mode: 'full' | 'smoke', sections: ReadonlySet<Section>, log: (line: string) => void): Promise<BenchResults> {
  const plan = plans[mode]
  const started = performance.now()
  const results: BenchResults = {
    mode,
    startedAt: new Date().toISOString(),
    durationSeconds: 0,
    machine: {
      node: process.version,
      cpus: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: totalmem() / 1024 ** 3,
      loadBefore: loadavg(),
      loadAfter: [],
      commit: gitCommit()
    }
  }

  const bundles = mkdtempSync(join(tmpdir(), 'security-records-bench-dist-'))
  const cleanups: Array<() => Promise<unknown>> = [async () => rmSync(bundles, { recursive: true, force: true })]
  try {
    // Fresh production bundles (no source maps, as the image ships them), outside the working tree.
    const built = await buildAll({ outdir: bundles, sourcemap: false })
    log(`built ${built.length} bundles in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    const store = await startBenchStore()
    cleanups.push(() => store.close())
    const issuer = await startBenchIssuer()
    cleanups.push(() => issuer.close())

    const timed = async <T>(section: Section, run: () => Promise<T>): Promise<T> => {
      const sectionStarted = performance.now()
      const result = await run()
      log(`${section} done in ${((performance.now() - sectionStarted) / 1000).toFixed(1)} s`)
      return result
    }
    if (sections.has('cold-start')) results.coldStart = await timed('cold-start', () => measureColdStarts({ bundles, store, issuer, runs: plan.coldStartRuns, log }))
    if (sections.has('overhead') || sections.has('gateway') || sections.has('list-scaling') || sections.has('import') || sections.has('metrics')) {
      const fleet = await startFleet(bundles, store, issuer)
      cleanups.push(() => fleet.stop())
      if (sections.has('overhead')) results.overhead = await timed('overhead', async () => measureRequestOverhead({ store, fleet, token: await issuer.token(OVERHEAD_TENANT), sizes: plan.overhead, log }))
      if (sections.has('gateway')) results.gateway = await timed('gateway', () => measureGateway({ store, issuer, fleet, sizes: plan.gateway, log }))
      if (sections.has('list-scaling')) results.listScaling = await timed('list-scaling', () => measureListScaling({ bundles, store, issuer, fleet, sizes: plan.scaling, log }))
      if (sections.has('import')) results.importReport = await timed('import', () => measureImport({ store, issuer, fleet, sizes: plan.import, log }))
      if (sections.has('metrics')) results.metrics = await timed('metrics', () => measureMetrics({ store, issuer, fleet, sizes: plan.metrics, log }))
    }
    if (sections.has('formats')) {
      results.formats = await timed('formats', () => measureFormats({ store, sizes: plan.formats, log }))
      const { cyclonedxToSarif, vex } = results.formats
      log(`formats: CycloneDX ÷ SARIF per finding ${cyclonedxToSarif.first.toFixed(2)}× first, ${cyclonedxToSarif.again.toFixed(2)}× again; VEX ÷ single updates ${(vex.vexMs / vex.updatesMs).toFixed(2)}×`)
    }
    if (sections.has('token')) {
      results.tokenVerification = await timed('token', () => measureTokenVerification(plan.token))
      log(`token verification: warm ${results.tokenVerification[0]!.medianMicros.toFixed(2)} µs`)
    }
    if (sections.has('json')) {
      results.jsonParsing = await timed('json', () => measureJsonParsing(plan.json))
      log(`strict JSON: a whole create ${results.jsonParsing.create.ratio.toFixed(3)}× today's parser`)
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log(`cleanup failed: ${(error as Error).message}`))
  }
  results.machine.loadAfter = loadavg()
  results.durationSeconds = (performance.now() - started) / 1000
  return results
}
