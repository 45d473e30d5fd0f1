import type { ColdStartResult } from './sections/cold-start.ts'
import type { FormatsBenchResult } from './sections/formats.ts'
import type { GatewayResult } from './sections/gateway.ts'
import type { MetricsBenchResult } from './sections/metrics.ts'
import type { ImportBenchResult } from './sections/import-report.ts'
import { STORE_STEPS, storeLabels, UNSHARDED_STEPS, WALK_STEPS, walkLabels, type ScalingPoint } from './sections/list-scaling.ts'
import { operationLabels, sdkLabels, type Operation, type OperationResult } from './sections/request-overhead.ts'
import type { JsonParseResult } from './json-parse.ts'
import type { VerificationTiming } from './token-verify.ts'

export interface BenchResults {
  mode: 'full' | 'smoke'
  startedAt: string
  durationSeconds: number
  machine: { node: string, cpus: string, cores: number, memoryGiB: number, loadBefore: number[], loadAfter: number[], commit: string }
  coldStart?: ColdStartResult[]
  overhead?: OperationResult[]
  gateway?: GatewayResult[]
  tokenVerification?: VerificationTiming[]
  jsonParsing?: JsonParseResult
  listScaling?: ScalingPoint[]
  importReport?: ImportBenchResult
  metrics?: MetricsBenchResult
  formats?: FormatsBenchResult
}

export interface TargetCheck {
  name: string
  measured: string
  baseline: string
  /** measured ÷ limit: ≤ 1 meets the target. */
  ofTarget: number
  target: string
  met: boolean
}

const MB = 1e6
const ms = (value: number) => value.toFixed(2)
const ratio = (value: number) => `${value.toFixed(2)}×`

/** The issue's targets, each measured figure beside its baseline and limit. */
export function targetChecks (results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = []
  const bare = results.coldStart?.find((entry) => entry.name === 'bare node:http')
  for (const entry of results.coldStart ?? []) {
    if (entry === bare || !bare) continue
    const coldRatio = entry.medianMs / bare.medianMs
    checks.push({ name: `cold start ${entry.name}`, measured: `${entry.medianMs.toFixed(0)} ms`, baseline: `bare node:http ${bare.medianMs.toFixed(0)} ms`, ofTarget: coldRatio / 2, target: '≤ 2× bare', met: coldRatio <= 2 })
    checks.push({ name: `bundle ${entry.name}`, measured: `${((entry.bytes ?? 0) / MB).toFixed(2)} MB`, baseline: '—', ofTarget: (entry.bytes ?? 0) / (1.5 * MB), target: '≤ 1.5 MB', met: (entry.bytes ?? 0) <= 1.5 * MB })
    const rss = entry.rssAfterFirstRequestMB ?? entry.rssAfterHealthMB
    checks.push({ name: `RSS ${entry.name}`, measured: `${rss.toFixed(1)} MB`, baseline: `bare node:http ${bare.rssAfterHealthMB.toFixed(1)} MB`, ofTarget: rss / 80, target: '≤ 80 MB', met: rss <= 80 })
  }
  for (const entry of results.overhead ?? []) {
    const value = entry.c1.function.p50 / entry.c1.minimal.p50
    checks.push({ name: `framework overhead ${operationLabels[entry.operation]}`, measured: `${ms(entry.c1.function.p50)} ms (${ratio(value)})`, baseline: `minimal node:http ${ms(entry.c1.minimal.p50)} ms`, ofTarget: value / 1.1, target: '≤ 1.1× minimal', met: value <= 1.1 })
  }
  // Writes answered at their commit point: POST and PATCH against GET, direct and through the gateway.
  const writesAgainstGet = (route: string, p50: (operation: Operation) => number | undefined) => {
    const get = p50('get')
    if (get === undefined) return
    for (const operation of ['create', 'update'] as const) {
      const write = p50(operation)
      if (write === undefined) continue
      checks.push({ name: `p50 ${operationLabels[operation]}, ${route}`, measured: `${ms(write)} ms (${ratio(write / get)})`, baseline: `GET ${ms(get)} ms`, ofTarget: write / get / 1.5, target: '≤ 1.5× GET', met: write / get <= 1.5 })
    }
  }
  writesAgainstGet('direct', (operation) => results.overhead?.find((entry) => entry.operation === operation)?.c1.function.p50)
  writesAgainstGet('gateway', (operation) => results.gateway?.find((entry) => entry.operation === operation)?.c1.gateway.p50)
  const [small, large] = results.listScaling ?? []
  if (small && large) {
    for (const step of ['firstPage', 'tenthPage'] as const) {
      const value = large.ours[step].p50 / small.ours[step].p50
      const store = large.ours.storeGet.p50 / small.ours.storeGet.p50
      checks.push({ name: `${walkLabels[step]}, ${large.tenantRecords}-record tenant`, measured: `${ms(large.ours[step].p50)} ms (${ratio(value)})`, baseline: `${ms(small.ours[step].p50)} ms, ${small.tenantRecords}-record tenant (store alone: GetItem ${ratio(store)})`, ofTarget: value / 1.2, target: '≤ 1.2×', met: value <= 1.2 })
    }
    if (large.unsharded) {
      const value = large.ours.firstPage.p50 / large.unsharded.firstPage.p50
      checks.push({ name: `${walkLabels.firstPage}, ${large.indexShards} index shards`, measured: `${ms(large.ours.firstPage.p50)} ms (${ratio(value)})`, baseline: `${ms(large.unsharded.firstPage.p50)} ms unsharded, same run`, ofTarget: value / 1.3, target: '≤ 1.3× unsharded', met: value <= 1.3 })
    }
  }
  const warm = results.tokenVerification?.find((entry) => entry.name.includes('warm'))
  const jose = results.tokenVerification?.find((entry) => entry.name.includes('jose'))
  const metrics = results.metrics
  if (metrics) {
    for (const [label, read] of [['kept figures', metrics.read], ['counters read', metrics.counters]] as const) {
      const value = read.large.p50 / read.small.p50
      checks.push({ name: `GET /v1/metrics, ${metrics.sizes.large}-record tenant, ${label}`, measured: `${ms(read.large.p50)} ms (${ratio(value)})`, baseline: `${ms(read.small.p50)} ms, ${metrics.sizes.small}-record tenant`, ofTarget: value / 1.2, target: '≤ 1.2×', met: value <= 1.2 })
    }
  }
  if (warm) checks.push({ name: 'token verification (warm)', measured: `${warm.medianMicros.toFixed(2)} µs`, baseline: jose ? `jose jwtVerify ${jose.medianMicros.toFixed(1)} µs` : '—', ofTarget: warm.medianMicros / 50, target: '≤ 50 µs', met: warm.medianMicros <= 50 })
  // The verifier before @fastify/jwt was jose's jwtVerify: a new token may cost at most half again as much.
  const cold = results.tokenVerification?.find((entry) => entry.name.includes('cold'))
  if (cold && jose) {
    const value = cold.medianMicros / jose.medianMicros
    checks.push({ name: 'token verification (cold)', measured: `${cold.medianMicros.toFixed(1)} µs (${ratio(value)})`, baseline: `jose jwtVerify ${jose.medianMicros.toFixed(1)} µs`, ofTarget: value / 1.5, target: '≤ 1.5× jose', met: value <= 1.5 })
  }
  const imported = results.importReport
  if (imported) {
    const share = imported.first.resultsPerSecond / imported.rawPutsPerSecond
    checks.push({ name: `first import, ${imported.results} results`, measured: `${imported.first.resultsPerSecond.toFixed(0)} results/s`, baseline: '—', ofTarget: 500 / imported.first.resultsPerSecond, target: '≥ 500 /s', met: imported.first.resultsPerSecond >= 500 })
    checks.push({ name: 'first import ÷ raw conditional put rate', measured: `${(share * 100).toFixed(0)} %`, baseline: `${imported.rawPutsPerSecond.toFixed(0)} puts/s`, ofTarget: 0.4 / share, target: '≥ 40 %', met: share >= 0.4 })
    checks.push({ name: 'unchanged re-import', measured: `${imported.unchanged.resultsPerSecond.toFixed(0)} results/s`, baseline: '—', ofTarget: 2000 / imported.unchanged.resultsPerSecond, target: '≥ 2000 /s', met: imported.unchanged.resultsPerSecond >= 2000 })
    checks.push({ name: 'RSS import-report after both imports', measured: `${imported.peakRssMB.toFixed(1)} MB`, baseline: '—', ofTarget: imported.peakRssMB / 128, target: '≤ 128 MB', met: imported.peakRssMB <= 128 })
  }
  const formats = results.formats
  if (formats) {
    for (const step of ['first', 'again'] as const) {
      const value = formats.cyclonedxToSarif[step]
      checks.push({ name: `CycloneDX ÷ SARIF import per finding, ${step === 'first' ? 'first import' : 'unchanged re-import'}`, measured: `${ms(formats.cyclonedx[step])} ms (${ratio(value)}, median of the rounds' ratios)`, baseline: `SARIF ${ms(formats.sarif[step])} ms`, ofTarget: value, target: '≤ 1× SARIF', met: value <= 1 })
    }
    const value = formats.vex.vexMs / formats.vex.updatesMs
    checks.push({ name: `VEX of ${formats.sizes.statements} statements applied`, measured: `${(formats.vex.vexMs / formats.vex.rounds.length).toFixed(0)} ms (${ratio(value)})`, baseline: `${formats.sizes.statements} single updates ${(formats.vex.updatesMs / formats.vex.rounds.length).toFixed(0)} ms`, ofTarget: value / 2, target: '≤ 2× single updates', met: value <= 2 })
  }
  return checks
}

const storeOps = (ops: Record<string, number>) => Object.entries(ops).map(([name, count]) => `${count} ${name}`).join(' + ') || '—'

export function renderMarkdown (results: BenchResults, chartFile: string | undefined): string {
  const lines: string[] = []
  const push = (...more: string[]) => lines.push(...more)
  const { machine } = results
  push('# security-records benchmark', '')
  push(`Generated by \`npm run bench${results.mode === 'smoke' ? ' -- --smoke' : ''}\` on ${results.startedAt} in ${results.durationSeconds.toFixed(0)} s (commit \`${machine.commit}\`).`)
  push(`Machine: ${machine.cores} × ${machine.cpus}, ${machine.memoryGiB.toFixed(0)} GiB, Node ${machine.node}. ` +
    `Load average before ${machine.loadBefore.map((l) => l.toFixed(2)).join(' / ')}, after ${machine.loadAfter.map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min).`)
  push('', 'Every ratio compares figures taken in this same run, against the same store (dynalite in its own process). ' +
    'What the numbers mean, how they are taken and why some targets are missed: [bench/README.md](../README.md).', '')
  if (results.mode === 'smoke') push('**Smoke run: tiny sample counts; these figures are not meaningful.**', '')
  if (chartFile) push(`![ratios against targets](${chartFile})`, '')

  const checks = targetChecks(results)
  if (checks.length > 0) {
    push('## Targets', '', '| figure | measured | baseline | target | of target | |', '|---|---:|---|---|---:|---|')
    for (const check of checks) push(`| ${check.name} | ${check.measured} | ${check.baseline} | ${check.target} | ${(check.ofTarget * 100).toFixed(0)} % | ${check.met ? 'met' : '**missed**'} |`)
    push('')
  }

  if (results.coldStart) {
    const bare = results.coldStart.find((entry) => entry.name === 'bare node:http')!
    push('## 1. Cold start and memory', '', 'Spawn of `node <bundle>` as the image starts it (with the compile cache the image ships: `NODE_COMPILE_CACHE`, filled by `scripts/fill-compile-cache.ts`) to the first 200 from `/healthz` (a store round trip for the functions), median of runs; peak RSS (VmHWM) after that, and after the first real API request.', '')
    push('| process | bundle | cold start (runs) | × bare | VmHWM after /healthz | first API request | VmHWM after it | without compile cache | × bare | its VmHWM |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const entry of results.coldStart) {
      const uncached = entry.withoutCompileCache
      push(`| ${entry.name} | ${entry.bytes ? `${(entry.bytes / MB).toFixed(2)} MB` : '—'} | ${entry.medianMs.toFixed(0)} ms (${entry.runs.map((run) => run.toFixed(0)).join(', ')}) | ${ratio(entry.medianMs / bare.medianMs)} | ${entry.rssAfterHealthMB.toFixed(1)} MB | ${entry.firstRequestMs === undefined ? '—' : `${entry.firstRequestMs.toFixed(1)} ms`} | ${entry.rssAfterFirstRequestMB === undefined ? '—' : `${entry.rssAfterFirstRequestMB.toFixed(1)} MB`} | ${uncached ? `${uncached.medianMs.toFixed(0)} ms` : '—'} | ${uncached ? ratio(uncached.medianMs / bare.medianMs) : '—'} | ${uncached ? `${uncached.rssAfterHealthMB.toFixed(1)} MB` : '—'} |`)
    }
    push('', '"Without compile cache": the same bundle started as plain `node <bundle>`, alternating with the runs above: what the image\'s cache saves.', '')
  }

  if (results.overhead) {
    push('## 2. Per-request overhead', '',
      'Concurrency 1, p50 / p99 in ms, the four variants in alternating slices: **function** — the bundle over HTTP with a real token; ' +
      '**minimal** — a bare node:http server in its own process calling the same data layer (no Fastify, token check, validation or serializer: `baselines/minimal-function.ts`); ' +
      '**data layer** — the same records service called in the harness process (the same store operations, no HTTP hop); **SDK** — the one store operation the request stands on. ' +
      'Concurrency 16: autocannon against the function and the minimal server, a closed loop of SDK calls.', '')
    push('| operation | function | minimal | data layer | SDK operation | SDK | function ÷ SDK | function ÷ minimal | store ops per call | function /s @16 | minimal /s @16 | SDK /s @16 |', '|---|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|')
    for (const entry of results.overhead) {
      const { c1, c16 } = entry
      push(`| ${operationLabels[entry.operation]} | ${ms(c1.function.p50)} / ${ms(c1.function.p99)} | ${ms(c1.minimal.p50)} / ${ms(c1.minimal.p99)} | ${ms(c1.dataLayer.p50)} / ${ms(c1.dataLayer.p99)} | ${sdkLabels[entry.operation]} | ${ms(c1.sdk.p50)} / ${ms(c1.sdk.p99)} | ${ratio(c1.function.p50 / c1.sdk.p50)} | ${ratio(c1.function.p50 / c1.minimal.p50)} | ${storeOps(entry.storeOps)} | ${c16.function.perSecond.toFixed(0)} | ${c16.minimal.perSecond.toFixed(0)} | ${c16.sdk.perSecond.toFixed(0)} |`)
    }
    push('', 'Besides these, a function reads the revocation list (one GetItem) once per token per `REVOCATION_CACHE_MS` (5 s).', '')
  }

  if (results.gateway) {
    push('## 3. Through the local gateway', '', '`startLocalStack` (what `npm start` runs: gateway, mock-auth and the functions in one process) over the same store, a token from its mock-auth; alternating with the same request sent straight to the function bundle.', '')
    push('| operation | gateway p50 / p99 | direct p50 / p99 | hop (p50) | gateway /s @16 |', '|---|---:|---:|---:|---:|')
    for (const entry of results.gateway) {
      push(`| ${operationLabels[entry.operation]} | ${ms(entry.c1.gateway.p50)} / ${ms(entry.c1.gateway.p99)} | ${ms(entry.c1.function.p50)} / ${ms(entry.c1.function.p99)} | +${ms(entry.c1.gateway.p50 - entry.c1.function.p50)} ms (${ratio(entry.c1.gateway.p50 / entry.c1.function.p50)}) | ${entry.c16.gateway.perSecond.toFixed(0)} |`)
    }
    push('')
  }

  if (results.tokenVerification) {
    push('## 4. Token verification', '', 'µs per verification (ES256), median over batches.', '', '| verifier | median | min | max |', '|---|---:|---:|---:|')
    for (const entry of results.tokenVerification) push(`| ${entry.name} | ${entry.medianMicros.toFixed(2)} µs | ${entry.minMicros.toFixed(2)} | ${entry.maxMicros.toFixed(2)} |`)
    push('')
  }

  if (results.jsonParsing) {
    const { parse, create } = results.jsonParsing
    push('## Strict JSON bodies', '', 'The strict parser (`shared/http/json-body.ts`: duplicate names, NUL, lone surrogates refused) against Fastify\'s default JSON parser it replaced, alternating batches (`bench/json-parse.ts`, also runnable alone).', '', '| body | bytes | Fastify default | strict | ratio |', '|---|---:|---:|---:|---:|')
    for (const entry of parse) push(`| ${entry.body} | ${entry.bytes} | ${entry.todayMicros.toFixed(2)} µs | ${entry.strictMicros.toFixed(2)} µs | ${entry.ratio.toFixed(2)}× |`)
    push(`| whole create (inject, in-process dynalite; ${create.batches} × ${create.perBatch}) | — | ${ms(create.todayMillis)} ms | ${ms(create.strictMillis)} ms | ${create.ratio.toFixed(3)}× |`, '')
  }

  const points = results.listScaling ?? []
  if (points.length === 2) {
    const [small, large] = points as [ScalingPoint, ScalingPoint]
    push('## 5. List scaling and 6. the peer baseline', '',
      `p50 / p99 in ms at concurrency 1. **Ours**: a tenant of ${small.tenantRecords} records and one of ${large.tenantRecords}, with another ${large.tenantRecords} in a third tenant, ` +
      'all in the same store and measured alternately — the ratio is what the tenant\'s size costs. ' +
      `**Peer** (\`bench/baselines/peer-app.ts\`: one Fastify app, records keyed by id, lists by Scan + filter, every token verified from scratch): its table at ${small.tenantRecords} records, then at ${2 * large.tenantRecords + small.tenantRecords} (the same tenants). Same records, same tokens, each design in a dynalite of its own.`, '')
    push(`| step | ours, ${small.tenantRecords}-record tenant | ours, ${large.tenantRecords}-record tenant | ours ratio | peer, table ${small.tenantRecords} | peer, table ${2 * large.tenantRecords + small.tenantRecords} | peer ratio | peer ÷ ours (large) |`, '|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const step of WALK_STEPS) {
      const [os, ol, ps, pl] = [small.ours[step], large.ours[step], small.peer[step], large.peer[step]]
      push(`| ${walkLabels[step]} | ${ms(os.p50)} / ${ms(os.p99)} | ${ms(ol.p50)} / ${ms(ol.p99)} | ${ratio(ol.p50 / os.p50)} | ${ms(ps.p50)} / ${ms(ps.p99)} | ${ms(pl.p50)} / ${ms(pl.p99)} (n=${pl.samples}) | ${ratio(pl.p50 / ps.p50)} | ${ratio(pl.p50 / ol.p50)} |`)
    }
    for (const step of STORE_STEPS) {
      const [os, ol] = [small.ours[step], large.ours[step]]
      push(`| ${storeLabels[step]} | ${ms(os.p50)} / ${ms(os.p99)} | ${ms(ol.p50)} / ${ms(ol.p99)} | ${ratio(ol.p50 / os.p50)} | — | — | — | — |`)
    }
    push('', `Seeding (BatchWriteItem, both layouts): ${(small.seedMs / 1000).toFixed(1)} s for the small tenant, ${(large.seedMs / 1000).toFixed(1)} s for the two large ones. ` +
      'The last two rows send the function\'s own Queries (one per index shard, through the repository) and GetItem to the store directly, to tell the store\'s behaviour from the function\'s.', '')
    if (small.unsharded && large.unsharded) {
      push(`Index shards: ours ran with ${large.indexShards} shards per index partition. The same tenants in an unsharded table of the same store process, served by a list-records process of its own, measured alternately with the sharded one:`, '')
      push(`| step | unsharded, ${small.tenantRecords} | unsharded, ${large.tenantRecords} | unsharded ratio | sharded ÷ unsharded, ${small.tenantRecords} | sharded ÷ unsharded, ${large.tenantRecords} |`, '|---|---:|---:|---:|---:|---:|')
      for (const step of UNSHARDED_STEPS) {
        const [us, ul] = [small.unsharded[step], large.unsharded[step]]
        const label = step === 'storeQuery' ? storeLabels.storeQuery : walkLabels[step]
        push(`| ${label} | ${ms(us.p50)} / ${ms(us.p99)} | ${ms(ul.p50)} / ${ms(ul.p99)} | ${ratio(ul.p50 / us.p50)} | ${ratio(small.ours[step].p50 / us.p50)} | ${ratio(large.ours[step].p50 / ul.p50)} |`)
      }
      push('')
    }
  }
  const imported = results.importReport
  if (imported) {
    push('## 7. Importing a scanner report', '', `A SARIF report of ${imported.results} results (${imported.reportMB.toFixed(1)} MB, ${imported.gzipMB.toFixed(2)} MB gzip) posted to the import-report bundle, timed from the POST to \`status: succeeded\`; then the same report again (every result unchanged). The raw rate: conditional PutItem (\`attribute_not_exists(pk)\`) of record-sized items, 16 in flight, same store, same run.`, '')
    push('| import | seconds | results/s | CPU s function / store | load | counts |', '|---|---:|---:|---:|---:|---|')
    for (const [label, run] of [['first', imported.first], ['unchanged', imported.unchanged]] as const) {
      push(`| ${label} | ${run.seconds.toFixed(1)} | ${run.resultsPerSecond.toFixed(0)} | ${run.cpuSeconds.function.toFixed(1)} / ${run.cpuSeconds.store.toFixed(1)} | ${run.load.toFixed(1)} | ${JSON.stringify(run.counts)} |`)
    }
    push('', `Raw conditional puts: ${imported.rawPutsPerSecond.toFixed(0)} /s (${imported.rawPutsPerSecondBeforeAfter.map((rate) => rate.toFixed(0)).join(' before, ')} after the imports). Peak RSS of import-report: ${imported.peakRssMB.toFixed(1)} MB (${imported.rssBeforeMB.toFixed(1)} MB before the first import; after both, ${imported.rssFileMB.toFixed(1)} MB of it file-backed: node's own code), run with its Service's settings ${Object.entries(imported.settings).map(([name, value]) => `\`${name}=${value}\``).join(' ') || '(none)'}.`, '')
  }

  const metrics = results.metrics
  if (metrics) {
    const { read, counters, perWrite, sizes } = metrics
    push('## 8. Metrics', '', `\`GET /v1/metrics?window=30d\` through the record-metrics bundle for a tenant of ${sizes.small} records and one of ${sizes.large}, alternating (answered from the counters alone: the ratio is what the tenant's size costs): with the figures the read before kept (no change counted since: one BatchGetItem), and with a change counted before each read (untimed), so that each read reads the counters and keeps its figures. Counting a record write: the store requests and client CPU of counting its event (record-metrics), beside those of the create itself (record, history, outbox), per record.`, '')
    push('| tenant | kept figures p50 ms | p99 ms | counters read p50 ms | p99 ms |', '|---|---:|---:|---:|---:|', `| ${sizes.small} records | ${read.small.p50.toFixed(2)} | ${read.small.p99.toFixed(2)} | ${counters.small.p50.toFixed(2)} | ${counters.small.p99.toFixed(2)} |`, `| ${sizes.large} records | ${read.large.p50.toFixed(2)} | ${read.large.p99.toFixed(2)} | ${counters.large.p50.toFixed(2)} | ${counters.large.p99.toFixed(2)} |`, '', `Ratio of the p50s: ${(read.large.p50 / read.small.p50).toFixed(2)}× with kept figures, ${(counters.large.p50 / counters.small.p50).toFixed(2)}× reading the counters (target ≤ 1.2×).`, '')
    push('| per record write | store requests | client CPU µs |', '|---|---:|---:|', `| plain create | ${perWrite.plain.requests.toFixed(1)} | ${perWrite.plain.cpuMicros.toFixed(0)} |`, `| counting its event | ${perWrite.counting.requests.toFixed(1)} | ${perWrite.counting.cpuMicros.toFixed(0)} |`, '')
  }

  const formats = results.formats
  if (formats) {
    const { sizes, sarif, cyclonedx, vex } = formats
    push('## 9. Formats', '', `In-process (the test harness's app, \`inject\`) over the same store: a SARIF report and a CycloneDX BOM of ${sizes.findings} findings each (the BOM rated by severity, as SARIF results are by level: the same record work), each imported, then imported again unchanged, timed from the POST to \`succeeded\`, ${sizes.rounds} rounds with the format going first alternating (after an untimed round a tenth the size); ms per finding. Then a VEX (OpenVEX, \`POST /v1/vex\`) of ${sizes.statements} statements each deciding one record of a tenant of ${sizes.statements}, against ${sizes.statements} single updates of another tenant's records through the data layer's \`updateRecord\` (a PATCH's store work, without HTTP), 16 at a time as the VEX applies them; ${sizes.vexRounds} rounds, the order alternating.`, '')
    push('| import, ms per finding | SARIF (median) | CycloneDX (median) | CycloneDX ÷ SARIF (median of the rounds\' ratios) | rounds: SARIF / CycloneDX |', '|---|---:|---:|---:|---|')
    for (const step of ['first', 'again'] as const) {
      push(`| ${step === 'first' ? 'first import' : 'unchanged re-import'} | ${sarif[step].toFixed(3)} | ${cyclonedx[step].toFixed(3)} | ${ratio(formats.cyclonedxToSarif[step])} | ${sarif.samples[step].map((value) => value.toFixed(2)).join(', ')} / ${cyclonedx.samples[step].map((value) => value.toFixed(2)).join(', ')} |`)
    }
    push('', '| round | VEX ms | single updates ms | VEX ÷ updates | first |', '|---|---:|---:|---:|---|')
    vex.rounds.forEach((round, index) => push(`| ${index + 1} | ${round.vexMs.toFixed(0)} | ${round.updatesMs.toFixed(0)} | ${ratio(round.vexMs / round.updatesMs)} | ${round.vexFirst ? 'VEX' : 'updates'} |`))
    push('', `Load average (1/5/15 min) before the section ${formats.load.before.map((load) => load.toFixed(2)).join(' / ')}, after ${formats.load.after.map((load) => load.toFixed(2)).join(' / ')}.`, '')
  }

  return `${lines.join('\n')}\n`
}

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

/**
 * The chart: every target as "measured ÷ limit" on a log axis (left of the 1.0 line is met),
 * and p50 latency per operation through the function, the data layer and the SDK.
 */
export function renderChart (results: BenchResults): string {
  const checks = targetChecks(results).filter((check) => !check.name.startsWith('bundle ') || check.name.endsWith('get-record'))
  const width = 1080
  const rowHeight = 22
  const left = 330
  const plotWidth = width - left - 90
  const top = 56
  const out: string[] = []
  const minLog = Math.log10(0.01)
  const maxLog = Math.log10(10)
  const x = (value: number) => left + ((Math.log10(Math.min(10, Math.max(0.01, value))) - minLog) / (maxLog - minLog)) * plotWidth
  const height1 = top + checks.length * rowHeight + 40
  const ops = results.overhead ?? []
  const variants = ['function', 'minimal', 'dataLayer', 'sdk'] as const
  const height2 = ops.length > 0 ? 70 + ops.length * variants.length * 16 + ops.length * 14 + 30 : 0
  const height = height1 + height2
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`)
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  out.push(`<text x="16" y="24" font-size="16" font-weight="bold">security-records: measured ÷ target limit (log scale; left of the line meets the target)</text>`)
  out.push(`<text x="16" y="42" fill="#555">${escape(`${results.mode} run ${results.startedAt}, node ${results.machine.node}, ${results.machine.cores} cores, load ${results.machine.loadBefore[0]!.toFixed(2)}`)}</text>`)
  for (const tick of [0.01, 0.1, 1, 10]) {
    out.push(`<line x1="${x(tick)}" y1="${top - 6}" x2="${x(tick)}" y2="${height1 - 34}" stroke="${tick === 1 ? '#222' : '#ddd'}" stroke-width="${tick === 1 ? 2 : 1}"${tick === 1 ? ' stroke-dasharray="5,3"' : ''}/>`)
    out.push(`<text x="${x(tick)}" y="${height1 - 20}" text-anchor="middle" fill="#555">${tick}</text>`)
  }
  checks.forEach((check, i) => {
    const y = top + i * rowHeight
    const end = x(check.ofTarget)
    out.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${escape(check.name.replace(/^bundle get-record$/, 'bundle size (largest alike)'))}</text>`)
    out.push(`<rect x="${x(0.01)}" y="${y + 3}" width="${Math.max(1, end - x(0.01))}" height="${rowHeight - 7}" fill="${check.met ? '#3a9a5b' : '#d0503c'}"/>`)
    out.push(`<text x="${Math.min(end + 4, width - 86)}" y="${y + 14}" fill="#333">${escape(`${check.measured} (${check.target})`)}</text>`)
  })
  if (ops.length > 0) {
    const base = height1 + 10
    out.push(`<text x="16" y="${base + 16}" font-size="16" font-weight="bold">p50 at concurrency 1, ms: function, minimal node:http server, data layer in-process, one SDK call</text>`)
    const maxValue = Math.max(...ops.map((entry) => entry.c1.function.p50))
    const scale = (plotWidth - 160) / maxValue
    const colors = { function: '#3b6fb6', minimal: '#6d9ad6', dataLayer: '#a9c6ec', sdk: '#888888' }
    const names = { function: 'function', minimal: 'minimal', dataLayer: 'data layer', sdk: 'SDK' }
    let y = base + 36
    for (const entry of ops) {
      out.push(`<text x="${left - 8}" y="${y + 34}" text-anchor="end">${escape(operationLabels[entry.operation])}</text>`)
      for (const key of variants) {
        const value = entry.c1[key].p50
        out.push(`<rect x="${left}" y="${y}" width="${Math.max(1, value * scale)}" height="13" fill="${colors[key]}"/>`)
        out.push(`<text x="${left + value * scale + 4}" y="${y + 11}" fill="#333">${value.toFixed(2)} ${names[key]}${key === 'dataLayer' ? ` (${escape(storeOps(entry.storeOps))})` : key === 'sdk' ? ` (${escape(sdkLabels[entry.operation])})` : ''}</text>`)
        y += 16
      }
      y += 14
    }
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
