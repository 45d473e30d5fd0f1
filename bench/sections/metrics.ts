import type { CloudEventV1 } from 'cloudevents'
import { recount, type RecordFacts } from '../../shared/metrics/counters.ts'
import { createRecord } from '../../shared/operations/create-record.ts'
import { createDataLayer } from '../../shared/operations/data-layer.ts'
import { countRecordEvent } from '../../shared/operations/record-metrics.ts'
import { severities, statuses } from '../../shared/records/vocabulary.ts'
import { dueAtFor } from '../../shared/records/workflow.ts'
import { batchPut } from '../../shared/store/batch.ts'
import { counterKey } from '../../shared/store/metrics-repository.ts'
import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { metricIndexes, metricKeys, metricPartitions, metricShardOf, topAssetPosition } from '../../shared/store/keys.ts'
import { createHttpClient, expectStatus, openStore, type BenchIssuer, type BenchStore } from '../lib/environment.ts'
import type { Fleet } from '../lib/fleet.ts'
import { measureInterleaved, type LatencySummary } from '../lib/stats.ts'

export interface MetricsSizes { small: number, large: number, samples: number, warmup: number, writes: number }

export interface MetricsBenchResult {
  sizes: { small: number, large: number }
  /**
   * GET /v1/metrics through the record-metrics bundle, the two tenants alternating: `read` with
   * the figures kept by the read before (no change counted since), `counters` with a change counted
   * before each read (untimed), so that every read reads the counters.
   */
  read: { small: LatencySummary, large: LatencySummary }
  counters: { small: LatencySummary, large: LatencySummary }
  /** Per record written: a plain create (record, history, outbox mark) beside counting its event. */
  perWrite: { plain: { requests: number, cpuMicros: number }, counting: { requests: number, cpuMicros: number } }
}

const SMALL = 'bench-metrics-small'
const LARGE = 'bench-metrics-large'

/** `count` records' facts: created over a year, a fifth resolved, spread over `assets` assets. */
function* randomFacts (count: number, assets: number): Generator<[string, RecordFacts]> {
  const start = Date.now() - 365 * 86_400_000
  for (let i = 0; i < count; i++) {
    const severity = severities[i % severities.length]!
    const createdAt = new Date(start + Math.floor((i / count) * 365 * 86_400_000)).toISOString()
    const status = i % 5 === 0 ? 'resolved' : statuses[i % 3]!
    const dueAt = dueAtFor(severity, createdAt)
    yield [`r${i}`, { severity, status, category: 'vulnerability', asset: `asset-${i % assets}`, createdAt, statusChangedAt: status === 'resolved' ? new Date(Date.parse(createdAt) + (i % 40) * 86_400_000).toISOString() : createdAt, ...(dueAt ? { dueAt } : {}) }]
  }
}

/**
 * The counters of a tenant of `count` records, written as the record events would have left them
 * (each record in its shard, each asset with its place): GET /v1/metrics reads the counters only, so
 * this is what its cost follows.
 */
async function seedCounters (store: BenchStore, tenant: string, count: number): Promise<void> {
  const byShard = new Map<number, RecordFacts[]>()
  for (const [id, facts] of randomFacts(count, Math.max(10, Math.floor(count / 500)))) {
    const shard = metricShardOf(id)
    byShard.set(shard, [...(byShard.get(shard) ?? []), facts])
  }
  const assets = new Map<string, Record<string, number>>()
  const items: Array<Record<string, unknown>> = []
  for (const [shard, facts] of byShard) {
    for (const { item, adds } of recount(facts)) {
      if (item.kind === 'asset') {
        const total = assets.get(item.asset) ?? {}
        for (const [name, n] of Object.entries(adds)) total[name] = (total[name] ?? 0) + n
        assets.set(item.asset, total)
      } else {
        items.push({ ...counterKey(tenant, shard, item), tenant, ...adds })
      }
    }
  }
  for (const [asset, adds] of assets) {
    items.push({ ...metricKeys.asset(tenant, asset), tenant, asset, rev: 1, ...adds })
    items.push({ ...metricKeys.assetTop(tenant, asset), tenant, asset, open: adds.open ?? 0, rev: 1, [metricIndexes.topAssets.pk]: metricPartitions.topAssets(tenant, asset), [metricIndexes.topAssets.sk]: topAssetPosition(adds.open ?? 0, asset) })
  }
  for (let i = 0; i < items.length; i += 100) await batchPut(store, items.slice(i, i + 100))
}

/** Store requests and client CPU of `run`, through a store client of its own. */
async function costOf (store: BenchStore, run: (client: ReturnType<typeof openStore>) => Promise<void>): Promise<{ requests: number, cpuMicros: number }> {
  const client = openStore(store.endpoint, store.tableName)
  let requests = 0
  client.client.middlewareStack.add((next) => async (args) => { requests++; return next(args) }, { step: 'initialize', name: 'countRequests' })
  const cpu = process.cpuUsage()
  await run(client)
  const used = process.cpuUsage(cpu)
  client.client.destroy()
  return { requests, cpuMicros: used.user + used.system }
}

/**
 * GET /v1/metrics at a tenant of `small` and one of `large` records, alternating (the ratio shows
 * what the tenant's size costs), and the cost of counting a record write beside the write itself.
 */
export async function measureMetrics (options: { store: BenchStore, issuer: BenchIssuer, fleet: Fleet, sizes: MetricsSizes, log: (line: string) => void }): Promise<MetricsBenchResult> {
  const { store, issuer, fleet, sizes, log } = options
  await seedCounters(store, SMALL, sizes.small)
  await seedCounters(store, LARGE, sizes.large)
  log(`metrics: counters of ${sizes.small} and ${sizes.large} records seeded`)
  const client = createHttpClient(fleet.url('record-metrics'))
  const headers = { small: { authorization: `Bearer ${await issuer.token(SMALL)}` }, large: { authorization: `Bearer ${await issuer.token(LARGE)}` } }
  const reads = {
    small: () => expectStatus(client.call('GET', '/v1/metrics?window=30d', headers.small), 200, 'GET /v1/metrics'),
    large: () => expectStatus(client.call('GET', '/v1/metrics?window=30d', headers.large), 200, 'GET /v1/metrics')
  }
  const read = await measureInterleaved(reads, { count: sizes.samples, warmup: sizes.warmup })
  // A change counted on shard 0 of the tenant read next, as counting an event does: its kept figures no longer hold.
  const changer = openStore(store.endpoint, store.tableName)
  const tenantOf = { small: SMALL, large: LARGE }
  const counters = await measureInterleaved(reads, {
    count: sizes.samples,
    warmup: sizes.warmup,
    before: (name) => changer.documents.send(new UpdateCommand({ TableName: store.tableName, Key: metricKeys.changes(tenantOf[name], 0), UpdateExpression: 'ADD #changes :one', ExpressionAttributeNames: { '#changes': 'changes' }, ExpressionAttributeValues: { ':one': 1 } }))
  })
  changer.client.destroy()

  const events: Array<CloudEventV1<unknown>> = []
  const sink = { enabled: true, async deliver (event: CloudEventV1<unknown>) { events.push(event) } }
  const actor = { sub: 'bench', clientId: 'bench', tenant: 'bench-metrics-writes' }
  const plain = await costOf(store, async (writer) => {
    const data = createDataLayer(writer, { sink, log: { warn () {} } })
    for (let i = 0; i < sizes.writes; i++) await createRecord(data, { actor, now: new Date(), requestId: `w${i}` }, { title: `w${i}`, category: 'vulnerability', severity: 'high', asset: { name: `asset-${i % 7}`, type: 'service' } })
    await data.publisher.drain()
  })
  const counting = await costOf(store, async (counter) => {
    const data = createDataLayer(counter, { sink, log: { warn () {} } })
    for (const event of events) await countRecordEvent(data.metrics, event as never)
  })
  const per = ({ requests, cpuMicros }: { requests: number, cpuMicros: number }) => ({ requests: requests / sizes.writes, cpuMicros: cpuMicros / sizes.writes })
  const result = { sizes: { small: sizes.small, large: sizes.large }, read, counters, perWrite: { plain: per(plain), counting: per(counting) } }
  log(`metrics: GET /v1/metrics p50 ${read.small.p50.toFixed(2)} ms at ${sizes.small}, ${read.large.p50.toFixed(2)} ms at ${sizes.large} (${(read.large.p50 / read.small.p50).toFixed(2)}×), counters read: ${counters.small.p50.toFixed(2)} ms, ${counters.large.p50.toFixed(2)} ms (${(counters.large.p50 / counters.small.p50).toFixed(2)}×); per write: plain ${result.perWrite.plain.requests.toFixed(1)} requests ${result.perWrite.plain.cpuMicros.toFixed(0)} µs CPU, counting ${result.perWrite.counting.requests.toFixed(1)} requests ${result.perWrite.counting.cpuMicros.toFixed(0)} µs CPU`)
  return result
}

