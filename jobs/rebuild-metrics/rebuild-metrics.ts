import { dayOf, factsOf, foldPastDue, recount, retentionHorizon, type RecordFacts } from '../../shared/metrics/counters.ts'
import type { CounterValues } from '../../shared/metrics/summary.ts'
import type { RecordsRepository } from '../../shared/store/records-repository.ts'
import { counterItemId, counterItemOfId, isPastRetention, TOMBSTONE_RETENTION_DAYS, type MetricsRepository, type PlaceDrift } from '../../shared/store/metrics-repository.ts'
import { metricKeys } from '../../shared/store/keys.ts'

/** One counter whose value differs from the recount. */
export interface Drift { item: string, counter: string, counted: number, recounted: number }

export interface RebuildOutcome {
  records: number
  /** With `reset`: counter and per-record items written from the recount, and items removed. */
  reset?: { written: number, removed: number }
  /** Counters that differed from the recount before the repair. */
  drift: Drift[]
  /** Records counted again (an event never counted) or uncounted (deleted without an event counted). */
  repaired: number
  /** Counters that still differ after the repair (a counter item itself wrong: none expected). */
  driftAfter: Drift[]
  /** Assets whose place in the top list did not show their open count (or that had none) before the repair. */
  placeDrift: PlaceDrift[]
  /** Those still off after the repair (none expected). */
  placeDriftAfter: PlaceDrift[]
  /**
   * With the repair or the reset: tombstones removed (records counted deleted more than
   * TOMBSTONE_RETENTION_DAYS ago) and day, remediation, due and trend items removed (wholly before
   * the retention horizon, `retentionHorizon`).
   */
  pruned: { tombstones: number, items: number }
}

const PAGE = 100

/** The tenant's live records, a page at a time: a Query walk of its list index, never a Scan. */
async function * liveRecords (records: RecordsRepository, tenant: string) {
  let after: string | undefined
  do {
    const page = await records.list(tenant, { order: 'asc' }, PAGE, after, new Date())
    yield * page.items
    after = page.resumeAfter
  } while (after)
}

/**
 * Counters minus the recount, per counter, zeros left out (a missing counter is 0). The counts
 * and asset items are compared with their due counters over before `today` folded on both sides
 * (a read may have folded the counters' meanwhile): `today` is taken after the counters were
 * read, so no fold saw a later day. A due block's days are never folded: compared as they are.
 * Items wholly before the retention horizon are left out on both sides: no read asks for them,
 * and the rebuild removes them.
 */
export function driftBetween (counted: ReadonlyMap<string, CounterValues>, recounted: ReadonlyMap<string, CounterValues>, today = dayOf(new Date().toISOString())): Drift[] {
  const drift: Drift[] = []
  for (const item of new Set([...counted.keys(), ...recounted.keys()])) {
    if (isPastRetention(item, today)) continue
    const folds = !item.startsWith(metricKeys.duePrefix)
    const have = folds ? foldPastDue(counted.get(item) ?? {}, today) : counted.get(item) ?? {}
    const want = folds ? foldPastDue(recounted.get(item) ?? {}, today) : recounted.get(item) ?? {}
    for (const counter of new Set([...Object.keys(have), ...Object.keys(want)])) {
      const a = have[counter] ?? 0
      const b = want[counter] ?? 0
      if (a !== b) drift.push({ item, counter, counted: a, recounted: b })
    }
  }
  return drift.sort((x, y) => (x.item + x.counter < y.item + y.counter ? -1 : 1))
}

async function recountTenant (records: RecordsRepository, tenant: string) {
  const live = new Map<string, { version: number, facts: RecordFacts }>()
  for await (const record of liveRecords(records, tenant)) live.set(record.id, { version: record.version, facts: factsOf(record) })
  const expected = new Map(recount([...live.values()].map((one) => one.facts)).map(({ item, adds }) => [counterItemId(item), adds]))
  return { expected, live }
}

/** The assets the recount counts (each should have a place in the top list). */
const assetsOf = (expected: ReadonlyMap<string, CounterValues>): string[] =>
  [...expected.keys()].flatMap((id) => {
    const item = counterItemOfId(id)
    return item?.kind === 'asset' ? [item.asset] : []
  })

/** Tombstones counted deleted before `now` minus TOMBSTONE_RETENTION_DAYS, and counter items wholly before the horizon of `now`'s day. */
async function prune (metrics: MetricsRepository, tenant: string, now: Date): Promise<RebuildOutcome['pruned']> {
  const tombstones = await metrics.pruneTombstones(tenant, new Date(now.getTime() - TOMBSTONE_RETENTION_DAYS * 86_400_000))
  const items = await metrics.pruneCounterItems(tenant, retentionHorizon(dayOf(now.toISOString())))
  return { tombstones, items }
}

/**
 * Recomputes a tenant's counters from its records and reports the drift, of the counters and of
 * the assets' places in the top list. Repairs what events left uncounted through the same guarded
 * path as events (so it is safe beside live deliveries): a record counted at an older version
 * (its last events were lost) is counted at its current one; a record counted but gone (its
 * delete event lost) is uncounted; a place behind its asset's count is written from the asset.
 * Then prunes what no read or event needs any more: old tombstones and old day and block items.
 *
 * `reset` rewrites every counter item of the tenant, and what each record counts under, from the
 * recount instead: for counters written under an older layout or counting rule, which a repair
 * cannot move. Not safe beside deliveries: the tenant's deliveries must be paused (record-metrics
 * with `METRICS_DELIVERIES=paused` answers them 503; the broker retries a while, then dead-letters
 * them, and a plain run after the pause counts what they carried).
 *
 * `now`: the clock of the drift's day and of the pruning horizons.
 */
export async function rebuildMetrics (records: RecordsRepository, metrics: MetricsRepository, tenant: string, { repair = true, reset = false, now = new Date() } = {}): Promise<RebuildOutcome> {
  const { expected, live } = await recountTenant(records, tenant)
  const today = dayOf(now.toISOString())
  const drift = driftBetween(await metrics.allCounters(tenant), expected, today)
  const placeDrift = await metrics.placeDrift(tenant, assetsOf(expected))
  const after = async () => {
    const recounted = (await recountTenant(records, tenant)).expected
    return { driftAfter: driftBetween(await metrics.allCounters(tenant), recounted, today), placeDriftAfter: await metrics.placeDrift(tenant, assetsOf(recounted)) }
  }
  if (reset) {
    const rewritten = await metrics.reset(tenant, [...live].map(([id, { version, facts }]) => ({ id, version, facts })))
    const pruned = await prune(metrics, tenant, now)
    return { records: live.size, drift, placeDrift, repaired: 0, reset: rewritten, pruned, ...await after() }
  }
  if (!repair) return { records: live.size, drift, placeDrift, repaired: 0, pruned: { tombstones: 0, items: 0 }, driftAfter: drift, placeDriftAfter: placeDrift }
  let repaired = 0
  const counted = new Map<string, number>()
  for await (const { id, version } of metrics.countedRecords(tenant)) counted.set(id, version)
  for (const [id, { version, facts }] of live) {
    if ((counted.get(id) ?? 0) < version && await metrics.apply(tenant, id, version, facts) === 'applied') repaired++
  }
  for (const [id, version] of counted) {
    // Gone for good (ids are never reused): only when the record item is absent now, not merely created after the walk.
    if (!live.has(id) && (await records.getStored(tenant, id)) === undefined && await metrics.apply(tenant, id, version + 1, null) === 'applied') repaired++
  }
  for (const { asset } of placeDrift) await metrics.rewritePlace(tenant, asset)
  const pruned = await prune(metrics, tenant, now)
  return { records: live.size, drift, placeDrift, repaired, pruned, ...await after() }
}
