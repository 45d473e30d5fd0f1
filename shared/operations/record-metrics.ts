import type { CloudEventV1 } from 'cloudevents'
import { Type, type Static } from 'typebox'
import { TENANT_PATTERN } from '../auth/token-verifier.ts'
import { invalidFields } from '../errors.ts'
import { recordEventTypes } from '../events/record-events.ts'
import { dayOf, factsOf } from '../metrics/counters.ts'
import { daysBack, MIN_TREND_DAYS, summarize, type MetricsSummary } from '../metrics/summary.ts'
import { Category, Severity, Status } from '../records/schema.ts'
import type { ApplyOutcome, MetricsRepository } from '../store/metrics-repository.ts'
import { bodyAjv, toFieldErrors } from '../validation.ts'

/** What the counters read of a record event's data (the record; anything else in it is ignored). */
const CountedRecord = Type.Object({
  id: Type.String({ minLength: 1 }),
  version: Type.Integer({ minimum: 1 }),
  severity: Severity,
  status: Status,
  category: Category,
  asset: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }),
  createdAt: Type.String({ format: 'date-time' }),
  statusChangedAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  dueAt: Type.Optional(Type.String({ format: 'date-time' }))
})
const validateCountedRecord = bodyAjv.compile<Static<typeof CountedRecord>>(CountedRecord)

const actionOfType = new Map(Object.entries(recordEventTypes).map(([action, type]) => [type, action]))
const tenantPattern = new RegExp(TENANT_PATTERN)
const sourcePattern = /^\/tenants\/([^/]+)\/records$/

export interface RecordEventOutcome { outcome: ApplyOutcome, tenant: string, recordId: string, version: number }

/**
 * Counts one record event (`record.created|updated|deleted`), exactly once in effect. The guard is
 * the record version, not the event id: the event id (`<record>/<version>`) tells a redelivery
 * apart, but only the version orders two changes, so an event overtaken by a newer one is not
 * counted over it. An event that can never be counted is a 400 (the broker dead-letters it).
 */
export async function countRecordEvent (metrics: MetricsRepository, event: Pick<CloudEventV1<unknown>, 'type' | 'source' | 'subject' | 'id' | 'data'> & { tenant?: unknown }): Promise<RecordEventOutcome> {
  const action = actionOfType.get(event.type)
  if (action === undefined) throw invalidFields([{ path: '/type', message: `must be one of ${Object.values(recordEventTypes).join(', ')}` }])
  const tenant = sourcePattern.exec(event.source)?.[1]
  if (tenant === undefined || !tenantPattern.test(tenant)) throw invalidFields([{ path: '/source', message: 'must be /tenants/<tenant>/records' }])
  if (event.tenant !== tenant) throw invalidFields([{ path: '/tenant', message: 'must name the tenant of the source' }])
  const recordId = event.subject
  if (typeof recordId !== 'string' || recordId.length === 0 || recordId.length > 64) throw invalidFields([{ path: '/subject', message: 'must be the record id' }])
  const version = Number(event.id.startsWith(`${recordId}/`) ? event.id.slice(recordId.length + 1) : Number.NaN)
  if (!Number.isSafeInteger(version) || version < 1) throw invalidFields([{ path: '/id', message: 'must be <record id>/<version>' }])
  if (action === 'deleted') return { outcome: await metrics.apply(tenant, recordId, version, null), tenant, recordId, version }
  const record = typeof event.data === 'string' ? parsedData(event.data) : event.data
  if (!validateCountedRecord(record)) throw invalidFields(toFieldErrors(validateCountedRecord.errors ?? []).map((error) => ({ ...error, path: `/data${error.path}` })))
  if (record.id !== recordId || record.version !== version) throw invalidFields([{ path: '/data', message: 'must be the record of the subject, at the version of the id' }])
  return { outcome: await metrics.apply(tenant, recordId, version, factsOf(record)), tenant, recordId, version }
}

/** How many assets the figures name, most active records first. */
export const TOP_ASSETS = 10

/**
 * A tenant's figures from its counters alone: a fixed number of reads, whatever the tenant's size.
 * First the summary of the window kept by an earlier read, used while no counted change happened
 * since (one BatchGetItem with the shards' change counts); otherwise the counters (the shards'
 * counts and the due block of today in one BatchGetItem, the window's remediation blocks and edge
 * days by key, the trend's blocks by key, a Query per shard of the top assets' places), kept as the
 * summary for the next read. An asset's figures are one read: never kept.
 */
export async function readMetrics (metrics: MetricsRepository, tenant: string, { windowDays, asset }: { windowDays: number, asset?: string }, now: Date): Promise<MetricsSummary> {
  const today = dayOf(now.toISOString())
  if (asset !== undefined) {
    const counts = await metrics.readCounts(tenant, today, asset)
    return summarize({ now, windowDays, counts, days: new Map(), topAssets: [], asset })
  }
  const lookup = await metrics.readSummary(tenant, windowDays, today)
  if (lookup.kept !== undefined) return { asOf: now.toISOString(), ...JSON.parse(lookup.kept) as Omit<MetricsSummary, 'asOf'> }
  const [counts, window, trend, topAssets] = await Promise.all([
    metrics.readCounts(tenant, today),
    metrics.readWindow(tenant, daysBack(now, windowDays)[0]!, today),
    metrics.readTrend(tenant, daysBack(now, Math.max(windowDays, MIN_TREND_DAYS))[0]!, today),
    metrics.topAssets(tenant, TOP_ASSETS)
  ])
  const figures = summarize({ now, windowDays, counts, days: new Map(), window, trend, topAssets })
  const { asOf, ...kept } = figures
  // The figures are answered whether or not they could be kept: the next read reads the counters again.
  await metrics.keepSummary(tenant, windowDays, today, lookup, JSON.stringify(kept)).catch(() => {})
  return figures
}

function parsedData (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw invalidFields([{ path: '/data', message: 'must be the record as JSON' }])
  }
}
