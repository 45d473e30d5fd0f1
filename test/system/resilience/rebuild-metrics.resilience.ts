import t from 'tap'
import type { CloudEventV1 } from 'cloudevents'
import { rebuildMetrics } from '../../../jobs/rebuild-metrics/rebuild-metrics.ts'
import { sweepOutbox } from '../../../jobs/sweep-outbox/sweep-outbox.ts'
import type { EventSink } from '../../../shared/events/record-events.ts'
import { COUNTER_RETENTION_DAYS, dayOf, isActive, ttrBucket, ttrBucketSeconds } from '../../../shared/metrics/counters.ts'
import { daysBack } from '../../../shared/metrics/summary.ts'
import { createRecord } from '../../../shared/operations/create-record.ts'
import { createDataLayer } from '../../../shared/operations/data-layer.ts'
import { deleteRecord } from '../../../shared/operations/delete-record.ts'
import { countRecordEvent, readMetrics } from '../../../shared/operations/record-metrics.ts'
import { isPastRetention, TOMBSTONE_RETENTION_DAYS } from '../../../shared/store/metrics-repository.ts'
import { updateRecord } from '../../../shared/operations/update-record.ts'
import type { SecurityRecord } from '../../../shared/records/schema.ts'
import { severities, type Severity, type Status } from '../../../shared/records/vocabulary.ts'
import { canTransition, remediationSlaDays } from '../../../shared/records/workflow.ts'
import { startTestStore } from '../../support/store.ts'

/** A seeded generator (mulberry32): the same workload on every run and store. */
function random (seed: number) {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

// A long suite: a real store takes every one of some 30 000 requests.
t.setTimeout(1_800_000)

const tenant = 'acme'
const OPERATIONS = 2000
const silent = { warn () {} }
const actor = { sub: 'client:workload', clientId: 'workload', tenant }
const assets = ['api', 'web', 'db', 'queue', 'cdn', 'auth']
const categories = ['vulnerability', 'misconfiguration', 'secret_exposure', 'malware'] as const
const targets: Status[] = ['open', 'triaged', 'in_progress', 'resolved', 'false_positive', 'not_affected']

/** Nearest-rank percentile of exact durations, read as their bucket (what the counters can tell). */
function bruteForcePercentile (durations: number[], fraction: number): number | null {
  if (durations.length === 0) return null
  const sorted = [...durations].sort((a, b) => a - b)
  return ttrBucketSeconds(ttrBucket(sorted[Math.max(1, Math.ceil(fraction * sorted.length)) - 1]!))
}

/** The figures computed straight from the records, the long way. */
function bruteForce (records: SecurityRecord[], now: Date, windowDays: number) {
  const today = dayOf(now.toISOString())
  const window = new Set(daysBack(now, windowDays))
  const active = records.filter((record) => isActive(record.status))
  const resolvedInWindow = (severity: Severity) => records.filter((record) => record.severity === severity && record.status === 'resolved' && window.has(dayOf(record.statusChangedAt)))
  const bySeverity = <T>(value: (severity: Severity) => T) => Object.fromEntries(severities.map((severity) => [severity, value(severity)]))
  return {
    open: { total: active.length, bySeverity: bySeverity((severity) => active.filter((record) => record.severity === severity).length) },
    overdue: { total: active.filter((record) => record.dueAt && dayOf(record.dueAt) < today).length, bySeverity: bySeverity((severity) => active.filter((record) => record.severity === severity && record.dueAt && dayOf(record.dueAt) < today).length) },
    remediation: bySeverity((severity) => {
      const durations = resolvedInWindow(severity).map((record) => Date.parse(record.statusChangedAt) - Date.parse(record.createdAt))
      return { resolved: durations.length, medianSeconds: bruteForcePercentile(durations, 0.5), p90Seconds: bruteForcePercentile(durations, 0.9) }
    }),
    sla: bySeverity((severity) => {
      const resolved = resolvedInWindow(severity)
      const inTime = resolved.filter((record) => record.dueAt && record.statusChangedAt <= record.dueAt).length
      const days = remediationSlaDays[severity]
      return {
        days,
        resolved: days === null ? 0 : resolved.length,
        resolvedInTime: inTime,
        compliance: days === null || resolved.length === 0 ? null : inTime / resolved.length,
        openPastDue: active.filter((record) => record.severity === severity && record.dueAt && dayOf(record.dueAt) < today).length
      }
    }),
    trend: daysBack(now, Math.max(windowDays, 90)).map((day) => ({
      day,
      opened: records.filter((record) => dayOf(record.createdAt) === day).length,
      resolved: records.filter((record) => record.status === 'resolved' && dayOf(record.statusChangedAt) === day).length
    }))
  }
}

t.test(`after ${OPERATIONS} random creates, patches and deletes, delivered twice, out of order, refused and dropped, the counters equal a recount and the figures a brute-force computation`, async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const next = random(27)
  // The broker's and the store's faults draw from their own sequence: the workload is the same on every run.
  const fault = random(99)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!

  // The broker: refuses one delivery in ten (the record functions leave those in the outbox).
  const accepted: Array<CloudEventV1<unknown>> = []
  let refusing = true
  const sink: EventSink = {
    enabled: true,
    async deliver (event) {
      if (refusing && fault() < 0.1) throw new Error('broker refused')
      accepted.push(JSON.parse(JSON.stringify(event)))
    }
  }
  const data = createDataLayer(store, { sink, log: silent })

  // The workload, over about three months of simulated time.
  let clock = Date.now() - 100 * 86_400_000
  const live = new Map<string, SecurityRecord>()
  let deleted = 0
  for (let i = 0; i < OPERATIONS; i++) {
    clock += Math.floor(next() * 2 * 3_600_000)
    const context = { actor, now: new Date(clock), requestId: `op-${i}` }
    const roll = next()
    if (roll < 0.4 || live.size === 0) {
      const { record } = await createRecord(data, context, { title: `finding ${i}`, category: pick(categories), severity: pick(severities), asset: { name: pick(assets), type: 'service' } })
      live.set(record.id, record)
    } else if (roll < 0.87) {
      const record = pick([...live.values()])
      const status = pick(targets.filter((target) => target !== record.status && canTransition(record.status, target)))
      const patch = next() < 0.7 && status
        ? { status, ...(status === 'false_positive' || status === 'not_affected' ? { statusReason: 'checked' } : {}) }
        : next() < 0.5 ? { severity: pick(severities) } : { asset: { name: pick(assets), type: 'service' as const } }
      live.set(record.id, await updateRecord(data, context, record.id, patch as never, `"${record.version}"`))
    } else {
      const record = pick([...live.values()])
      await deleteRecord(data, context, record.id, `"${record.version}"`)
      live.delete(record.id)
      deleted++
    }
    // Reads along the way fold the due days then over, while later changes still count on them.
    if (i % 100 === 99) await readMetrics(data.metrics, tenant, { windowDays: 30 }, new Date(clock))
  }
  const now = new Date(clock)
  await data.publisher.drain()
  t.comment(`workload done: ${live.size} live records, ${accepted.length} events accepted`)
  // The sweeper redelivers what the broker refused.
  refusing = false
  while ((await sweepOutbox(data, { olderThanMs: 0, now: new Date(Date.now() + 60_000) })).delivered > 0);
  t.equal(new Set(accepted.map((event) => event.id)).size, accepted.length, 'every change reached the broker once')

  // The broker's deliveries: one in five twice, shuffled within a window, the last event of twenty records dropped.
  const versionOf = (event: CloudEventV1<unknown>) => Number(event.id.slice(event.id.lastIndexOf('/') + 1))
  const lastOfRecord = new Map<string, CloudEventV1<unknown>>()
  for (const event of accepted) if (versionOf(event) > versionOf(lastOfRecord.get(event.subject!) ?? event) || !lastOfRecord.has(event.subject!)) lastOfRecord.set(event.subject!, event)
  const dropped = new Set([...lastOfRecord.values()].slice(0, 20))
  let queue = accepted.filter((event) => !dropped.has(event)).flatMap((event) => next() < 0.2 ? [event, event] : [event])
  for (let i = 0; i < queue.length; i++) {
    const j = Math.min(queue.length - 1, i + Math.floor(next() * 30));
    [queue[i], queue[j]] = [queue[j]!, queue[i]!]
  }
  // The store refuses one counter update in thirty: that delivery fails (5xx) and the broker retries it later.
  let faults = true
  store.client.middlewareStack.add((next2, context) => async (args) => {
    if (faults && context.commandName === 'UpdateItemCommand' && String((args.input as { UpdateExpression?: string }).UpdateExpression).startsWith('ADD') && fault() < 1 / 30) {
      throw Object.assign(new Error('refused'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })
    }
    return next2(args)
  }, { step: 'initialize', name: 'refuseCounterUpdates' })
  let failed = 0
  while (queue.length > 0) {
    const retry: typeof queue = []
    for (let i = 0; i < queue.length; i += 4) {
      await Promise.all(queue.slice(i, i + 4).map((event) => countRecordEvent(data.metrics, event as never).catch(() => { failed++; retry.push(event) })))
    }
    queue = retry
  }
  faults = false
  t.comment('deliveries done')
  t.ok(failed > 0, `${failed} deliveries failed and were redelivered`)

  const before = await rebuildMetrics(data.records, data.metrics, tenant, { repair: false })
  t.equal(before.records, live.size)
  t.same(before.placeDrift, [], 'every asset\'s place follows its count')
  t.ok(before.drift.length > 0, 'the dropped events are missing from the counters')
  const repaired = await rebuildMetrics(data.records, data.metrics, tenant)
  t.equal(repaired.repaired, 20, 'the rebuild counts exactly the records whose last event was dropped')
  t.same(repaired.driftAfter, [])
  t.same(repaired.pruned, { tombstones: 0, items: 0 }, 'nothing old enough to prune yet')
  // The dropped events arrive at last: counted already, they change nothing.
  for (const event of dropped) t.equal((await countRecordEvent(data.metrics, event as never)).outcome, 'stale')
  t.same((await rebuildMetrics(data.records, data.metrics, tenant, { repair: false })).drift, [], 'drift zero')

  const records = [...live.values()]
  const figuresMatch = async (when: string) => {
    for (const windowDays of [30, 90]) {
      const figures = await readMetrics(data.metrics, tenant, { windowDays }, now)
      const expected = bruteForce(records, now, windowDays)
      t.same(figures.open, expected.open, `open (${windowDays}d, ${when})`)
      t.same(figures.overdue, expected.overdue, 'overdue')
      t.same(figures.remediation, expected.remediation, 'remediation times')
      t.same(figures.sla, expected.sla, 'SLA compliance')
      t.same(figures.trend, expected.trend, 'opened and resolved per day')
      t.ok(expected.remediation.critical!.resolved + expected.remediation.high!.resolved > 0, 'the window has resolved records')
    }
  }
  await figuresMatch('counted from the events')
  // A reset (deliveries paused) rewrites the same counters from the records.
  const reset = await rebuildMetrics(data.records, data.metrics, tenant, { reset: true })
  t.same([reset.drift, reset.driftAfter], [[], []], 'a reset of exact counters finds and leaves no drift')
  await figuresMatch('after a reset')

  // Runs weeks and a year later prune every tombstone and then the workload's day and block items,
  // while the counters read on the workload's last day stay those of the records.
  const later = (days: number) => new Date(Date.now() + days * 86_400_000)
  const weeks = await rebuildMetrics(data.records, data.metrics, tenant, { now: later(TOMBSTONE_RETENTION_DAYS + 1) })
  t.equal(weeks.pruned.tombstones, deleted, 'one tombstone a deleted record')
  t.same([weeks.driftAfter, weeks.placeDriftAfter], [[], []])
  await figuresMatch('after the tombstones were pruned')
  const yearLater = later(COUNTER_RETENTION_DAYS + 20)
  const year = await rebuildMetrics(data.records, data.metrics, tenant, { now: yearLater })
  t.ok(year.pruned.items > 0, `${year.pruned.items} day and block items pruned`)
  t.same([year.driftAfter, year.placeDriftAfter], [[], []])
  const kept = [...(await data.metrics.allCounters(tenant)).keys()]
  t.same(kept.filter((id) => isPastRetention(id, dayOf(yearLater.toISOString()))), [], 'none before the horizon is kept')
  t.same(kept.filter((id) => /^(DAY|REM|TREND)#/.test(id)), [], 'no day, remediation or trend item of a workload that old')
})
