import { activeStatuses } from '../records/workflow.ts'
import type { Severity, Status } from '../records/vocabulary.ts'

/**
 * The counter model of a tenant's metrics, as pure functions. A record counts under a handful of
 * counters (its "contribution"); a change of the record moves it from the counters of its old
 * facts to those of its new ones (`contributionDelta`), so counters are sums of contributions and
 * a recount from the records gives the same numbers.
 */

/** What the counters need to know of a record: nothing else of it is kept. */
export interface RecordFacts {
  severity: Severity
  status: Status
  category: string
  asset: string
  createdAt: string
  statusChangedAt: string
  dueAt?: string
}

/**
 * The counter items a contribution touches: the tenant's counts (per shard), one day's
 * remediation figures (per shard), the same figures summed over a block of REMEDIATION_BLOCK_DAYS
 * days (per shard), the due days of one block of DUE_BLOCK_DAYS days (per shard),
 * the opened and resolved counts of the days of one block of TREND_BLOCK_DAYS days (per shard),
 * one asset's counts. A block is named by its first day. Spelled as keys of the store by the store.
 */
export type CounterItem = { kind: 'counts' } | { kind: 'day', day: string } | { kind: 'remediation', block: string } | { kind: 'due', block: string } | { kind: 'trend', block: string } | { kind: 'asset', asset: string }

/**
 * Days per due block: the counts item keeps one due counter per severity and block (a bounded
 * handful for the deadlines ahead, whatever the tenant's size), the block's item one per day.
 */
export const DUE_BLOCK_DAYS = 8
/**
 * Days per remediation block: a window is read as the blocks wholly inside it and the days of
 * its edges, so its histograms come from a handful of items, not one per day.
 */
export const REMEDIATION_BLOCK_DAYS = 8
/** Days per trend block: the trend's days are read a block item at a time, not a day item each. */
export const TREND_BLOCK_DAYS = 16

const DAY_MS = 86_400_000
const epochDay = (day: string): number => Math.floor(Date.parse(`${day}T00:00:00.000Z`) / DAY_MS)
const dayAt = (epoch: number): string => new Date(epoch * DAY_MS).toISOString().slice(0, 10)

/** The first day of the block of `size` days (aligned to 1970-01-01) that holds `day`. */
export const blockOf = (day: string, size: number): string => dayAt(Math.floor(epochDay(day) / size) * size)

/** The last day of the block of `size` days that starts on `block`. */
export const blockEnd = (block: string, size: number): string => dayAt(epochDay(block) + size - 1)

/**
 * The days from `from` to `to` as the blocks of `size` days wholly inside them and the days left
 * at either edge: every day in exactly one of them.
 */
export function splitIntoBlocks (from: string, to: string, size: number): { blocks: string[], days: string[] } {
  const first = epochDay(from)
  const last = epochDay(to)
  const firstWhole = Math.ceil(first / size) * size
  const afterWhole = Math.floor((last + 1) / size) * size
  if (afterWhole <= firstWhole) return { blocks: [], days: range(first, last) }
  const blocks: string[] = []
  for (let epoch = firstWhole; epoch < afterWhole; epoch += size) blocks.push(dayAt(epoch))
  return { blocks, days: [...range(first, firstWhole - 1), ...range(afterWhole, last)] }
}

function range (first: number, last: number): string[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => dayAt(first + i))
}

/** The blocks of `size` days from the one holding `from` to the one holding `to`, oldest first. */
export function blocksBetween (from: string, to: string, size: number): string[] {
  const blocks: string[] = []
  for (let epoch = epochDay(blockOf(from, size)); epoch <= epochDay(to); epoch += size) blocks.push(dayAt(epoch))
  return blocks
}

/**
 * Days back that day, remediation, due and trend items are kept. A read asks for at most 365 days
 * (MAX_WINDOW_DAYS, the trend as many), a block's items reaching at most a block further back, so
 * an item whose days all lie before the horizon is never read again: the rebuild job removes it,
 * and its drift check leaves such items out on both sides. A later change of a record resolved
 * (or created, or due) that long ago subtracts from them and writes one back, with a negative
 * count: still never read, and removed again by the next run.
 */
export const COUNTER_RETENTION_DAYS = 400

/** The first day whose items are kept on `today`. */
export const retentionHorizon = (today: string): string => dayAt(epochDay(today) - COUNTER_RETENTION_DAYS)

/** Whether every day of a counter item lies before `horizon` (the counts and the assets: never). */
export function endsBefore (item: CounterItem, horizon: string): boolean {
  switch (item.kind) {
    case 'day': return item.day < horizon
    case 'remediation': return blockEnd(item.block, REMEDIATION_BLOCK_DAYS) < horizon
    case 'due': return blockEnd(item.block, DUE_BLOCK_DAYS) < horizon
    case 'trend': return blockEnd(item.block, TREND_BLOCK_DAYS) < horizon
    default: return false
  }
}

/** One counter: an attribute of one counter item. */
export interface Counter { item: CounterItem, attribute: string }

/** The counters of a contribution and what each adds, keyed by `counterId`. */
export type Contribution = Map<string, { counter: Counter, add: number }>

/** Attribute names of the counter items (`|` separates the parts; no part contains one). */
export const counterAttributes = {
  /** Every live record, by severity and status. */
  records: (severity: string, status: string) => `s|${severity}|${status}`,
  /** Active records by category. */
  openCategory: (category: string) => `c|${category}`,
  /** Active records with a deadline, by severity and the day (UTC) it falls on (due blocks, assets). */
  due: (severity: string, day: string) => `d|${severity}|${day}`,
  /** Active records with a deadline, by severity and the due block (its first day) it falls in (the counts). */
  dueBlock: (severity: string, block: string) => `b|${severity}|${block}`,
  /** Due counters of days or blocks already over, folded into one per severity (`foldPastDue`). */
  overdue: (severity: string) => `o|${severity}`,
  /**
   * A day of a trend block: the records created that day (still existing) plus RESOLVED_UNIT
   * times those resolved that day (still resolved), every severity — one number for both, so a
   * trend block carries one attribute a day (`trendFigures` takes it apart).
   */
  trendDay: (day: string) => `n|${day}`,
  /** Records resolved that day (still resolved), by severity. */
  resolved: (severity: string) => `r|${severity}`,
  /** Of those, how many by time to remediate (a duration bucket, `ttrBucket`). */
  timeToResolve: (severity: string, bucket: number) => `t|${severity}|${bucket}`,
  /** Of those with a deadline, resolved by it. */
  resolvedInTime: (severity: string) => `m|${severity}`,
  /** An asset's active records. */
  assetOpen: 'open'
} as const

export const dayOf = (instant: string): string => instant.slice(0, 10)

/**
 * What a resolved record adds to its day's trend counter: both counts are whole and never below
 * zero, so the sum splits exactly while a shard's records opened on one day stay below 2^26
 * (67 million) and resolved below 2^27, where the value is still an exact integer (below 2^53).
 */
export const RESOLVED_UNIT = 2 ** 26

/** The opened and resolved counts of a trend counter's value. */
export function trendFigures (value: number): { opened: number, resolved: number } {
  const resolved = Math.floor(value / RESOLVED_UNIT)
  return { opened: value - resolved * RESOLVED_UNIT, resolved }
}

/** A counter item's name within a contribution (and in tests): `counts`, `day:<day>`, `due:<block>`, `trend:<block>`, `asset:<name>`. */
export function itemName (item: CounterItem): string {
  switch (item.kind) {
    case 'counts': return 'counts'
    case 'day': return `day:${item.day}`
    case 'remediation': return `remediation:${item.block}`
    case 'due': return `due:${item.block}`
    case 'trend': return `trend:${item.block}`
    case 'asset': return `asset:${item.asset}`
  }
}

const counterId = ({ item, attribute }: Counter): string => `${itemName(item)}\n${attribute}`

/** Buckets per doubling of a duration: a bucket's upper bound is at most 2^(1/8) (about 9 %) above any duration in it. */
export const TTR_BUCKETS_PER_DOUBLING = 8

/** The bucket of a time to remediate: durations up to one minute share bucket 0. */
export function ttrBucket (milliseconds: number): number {
  const minutes = Math.max(milliseconds / 60_000, 1)
  return Math.ceil(TTR_BUCKETS_PER_DOUBLING * Math.log2(minutes) - 1e-9)
}

/** The longest duration a bucket holds, in seconds: what a percentile reads as. */
export function ttrBucketSeconds (bucket: number): number {
  return Math.round(60 * 2 ** (bucket / TTR_BUCKETS_PER_DOUBLING))
}

export const isActive = (status: Status): boolean => activeStatuses.includes(status)

/** The counters one record's facts count under (none for a deleted record). */
export function contributionOf (facts: RecordFacts | null | undefined): Contribution {
  const contribution: Contribution = new Map()
  if (!facts) return contribution
  const add = (item: CounterItem, attribute: string, n = 1) => {
    const counter = { item, attribute }
    contribution.set(counterId(counter), { counter, add: (contribution.get(counterId(counter))?.add ?? 0) + n })
  }
  const counts: CounterItem = { kind: 'counts' }
  const asset: CounterItem = { kind: 'asset', asset: facts.asset }
  add(counts, counterAttributes.records(facts.severity, facts.status))
  add(asset, counterAttributes.records(facts.severity, facts.status))
  const createdOn = dayOf(facts.createdAt)
  add({ kind: 'trend', block: blockOf(createdOn, TREND_BLOCK_DAYS) }, counterAttributes.trendDay(createdOn))
  if (isActive(facts.status)) {
    add(counts, counterAttributes.openCategory(facts.category))
    add(asset, counterAttributes.assetOpen)
    if (facts.dueAt) {
      const dueOn = dayOf(facts.dueAt)
      const block = blockOf(dueOn, DUE_BLOCK_DAYS)
      add(counts, counterAttributes.dueBlock(facts.severity, block))
      add({ kind: 'due', block }, counterAttributes.due(facts.severity, dueOn))
      add(asset, counterAttributes.due(facts.severity, dueOn))
    }
  }
  if (facts.status === 'resolved') {
    const resolvedOn = dayOf(facts.statusChangedAt)
    add({ kind: 'trend', block: blockOf(resolvedOn, TREND_BLOCK_DAYS) }, counterAttributes.trendDay(resolvedOn), RESOLVED_UNIT)
    // The day's figures, and the same in the day's remediation block.
    for (const item of [{ kind: 'day', day: resolvedOn }, { kind: 'remediation', block: blockOf(resolvedOn, REMEDIATION_BLOCK_DAYS) }] satisfies CounterItem[]) {
      add(item, counterAttributes.resolved(facts.severity))
      add(item, counterAttributes.timeToResolve(facts.severity, ttrBucket(Date.parse(facts.statusChangedAt) - Date.parse(facts.createdAt))))
      if (facts.dueAt && facts.statusChangedAt <= facts.dueAt) add(item, counterAttributes.resolvedInTime(facts.severity))
    }
  }
  return contribution
}

/** What moving a record from `before` to `after` adds to each counter (zeros left out). */
export function contributionDelta (before: RecordFacts | null | undefined, after: RecordFacts | null | undefined): Contribution {
  const delta: Contribution = new Map()
  for (const [id, { counter, add }] of contributionOf(before)) delta.set(id, { counter, add: -add })
  for (const [id, { counter, add }] of contributionOf(after)) {
    const sum = (delta.get(id)?.add ?? 0) + add
    if (sum === 0) delta.delete(id)
    else delta.set(id, { counter, add: sum })
  }
  return delta
}

/** A contribution grouped by counter item: what one conditional update of each item adds. */
export function byItem (contribution: Contribution): Array<{ item: CounterItem, adds: Record<string, number> }> {
  const items = new Map<string, { item: CounterItem, adds: Record<string, number> }>()
  for (const { counter, add } of contribution.values()) {
    const key = itemName(counter.item)
    const entry = items.get(key) ?? { item: counter.item, adds: {} }
    entry.adds[counter.attribute] = (entry.adds[counter.attribute] ?? 0) + add
    items.set(key, entry)
  }
  return [...items.values()]
}

/** The sum of many records' contributions: what the counters hold when nothing was lost (the recount). */
export function recount (facts: Iterable<RecordFacts>): Array<{ item: CounterItem, adds: Record<string, number> }> {
  const total: Contribution = new Map()
  for (const one of facts) {
    for (const [id, entry] of contributionOf(one)) {
      const existing = total.get(id)
      total.set(id, { counter: entry.counter, add: (existing?.add ?? 0) + entry.add })
    }
  }
  return byItem(total)
}

/**
 * Whether a due counter (`d|<severity>|<day>`, `b|<severity>|<block>`) is over on `today`: its
 * day, or its block's last day, is before it. The overdue figure of a counter item is its overdue
 * counters plus the due counters that are over; with a due block not over yet, the days of it
 * that are come from the block's own item.
 */
export function isPastDue (attribute: string, today: string): boolean {
  const [kind, , day] = attribute.split('|')
  if (day === undefined) return false
  if (kind === 'd') return day < today
  return kind === 'b' && blockEnd(day, DUE_BLOCK_DAYS) < today
}

/** The due counters of `values` that are over on `today`, by attribute. */
export function pastDueCounters (values: Readonly<Record<string, unknown>>, today: string): Array<{ attribute: string, severity: string, n: number }> {
  const past: Array<{ attribute: string, severity: string, n: number }> = []
  for (const [attribute, n] of Object.entries(values)) {
    if (typeof n === 'number' && isPastDue(attribute, today)) past.push({ attribute, severity: attribute.split('|')[1]!, n })
  }
  return past
}

/**
 * `values` with every due counter over on `today` added into its severity's overdue counter and
 * left out: what a counter item holds once its past due days are folded. A due day only ever
 * passes, so the overdue figure (overdue counter plus the due counters over) is the same before
 * and after, and folding twice changes nothing.
 */
export function foldPastDue (values: Readonly<Record<string, number>>, today: string): Record<string, number> {
  const folded: Record<string, number> = { ...values }
  for (const { attribute, severity, n } of pastDueCounters(values, today)) {
    delete folded[attribute]
    const overdue = counterAttributes.overdue(severity)
    folded[overdue] = (folded[overdue] ?? 0) + n
  }
  return folded
}

/** A record's facts, from the record as events and the store carry it. */
export function factsOf (record: { severity: Severity, status: Status, category: string, asset: { name: string }, createdAt: string, statusChangedAt?: string, updatedAt: string, dueAt?: string }): RecordFacts {
  return {
    severity: record.severity,
    status: record.status,
    category: record.category,
    asset: record.asset.name,
    createdAt: record.createdAt,
    statusChangedAt: record.statusChangedAt ?? record.createdAt,
    ...(record.dueAt === undefined ? {} : { dueAt: record.dueAt })
  }
}
