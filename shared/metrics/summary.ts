import { severities, statuses, type Severity } from '../records/vocabulary.ts'
import { remediationSlaDays } from '../records/workflow.ts'
import { dayOf, isActive, isPastDue, ttrBucketSeconds } from './counters.ts'

/** Counter attributes and their values, as read (several shards summed). */
export type CounterValues = Record<string, number>

/** The shortest trend the figures show, whatever the window: a quarter. */
export const MIN_TREND_DAYS = 90
export const MAX_WINDOW_DAYS = 365

export interface MetricsInput {
  now: Date
  windowDays: number
  /**
   * The tenant's counts (or, with an asset, that asset's), with the due days of the due block
   * holding today (a due block not over is overdue on its days before today only).
   */
  counts: CounterValues
  /** Day figures by day (`YYYY-MM-DD`): the window's (without `window`) and the trend's (without `trend`). */
  days: ReadonlyMap<string, CounterValues>
  /** The window's remediation figures, its days summed (without it: those of `days`). */
  window?: CounterValues
  /** Opened and resolved by day for the trend's days (without it: `opened` and `r|*` of `days`). */
  trend?: ReadonlyMap<string, { opened: number, resolved: number }>
  topAssets: Array<{ name: string, open: number }>
  asset?: string
}

/** The UTC days `count` days back from `now`'s day, oldest first (`now`'s day included). */
export function daysBack (now: Date, count: number): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  return Array.from({ length: count }, (_, i) => dayOf(new Date(today - (count - 1 - i) * 86_400_000).toISOString()))
}

const bySeverity = <T>(value: (severity: Severity) => T): Record<Severity, T> =>
  Object.fromEntries(severities.map((severity) => [severity, value(severity)])) as Record<Severity, T>

/** The nearest-rank percentile of a histogram of duration buckets, as the bucket's upper bound in seconds. */
export function percentileSeconds (histogram: ReadonlyMap<number, number>, fraction: number): number | null {
  const total = [...histogram.values()].reduce((sum, n) => sum + n, 0)
  if (total <= 0) return null
  const rank = Math.max(1, Math.ceil(fraction * total))
  let seen = 0
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket)!
    if (seen >= rank) return ttrBucketSeconds(bucket)
  }
  return null
}

const valueOf = (values: CounterValues | undefined, attribute: string) => values?.[attribute] ?? 0

/**
 * The figures `GET /v1/metrics` answers, from the counters alone: open records by severity and
 * status, overdue (a deadline whose day, UTC, is over: evaluated now, from counts by due day),
 * remediation times and SLA compliance of the records resolved in the window, and opened versus
 * resolved per day for the trend.
 */
export function summarize ({ now, windowDays, counts, days, window: windowSum, trend: trendDays, topAssets, asset }: MetricsInput) {
  const today = dayOf(now.toISOString())
  const records = bySeverity((severity) => Object.fromEntries(statuses.map((status) => [status, valueOf(counts, `s|${severity}|${status}`)])) as Record<string, number>)
  const openBySeverity = bySeverity((severity) => statuses.filter(isActive).reduce((sum, status) => sum + records[severity][status]!, 0))
  const overdueBySeverity = bySeverity(() => 0)
  for (const [attribute, n] of Object.entries(counts)) {
    const [kind, severity] = attribute.split('|')
    // Past due days not folded yet count as well as those folded into the overdue counter.
    const overdue = kind === 'o' || isPastDue(attribute, today)
    if (overdue && Object.hasOwn(overdueBySeverity, severity!)) overdueBySeverity[severity as Severity] += n
  }
  const windowDaysList = daysBack(now, windowDays)
  const remediation = bySeverity((severity) => {
    const histogram = new Map<number, number>()
    let resolved = 0
    let inTime = 0
    for (const values of windowSum ? [windowSum] : windowDaysList.map((day) => days.get(day))) {
      resolved += valueOf(values, `r|${severity}`)
      inTime += valueOf(values, `m|${severity}`)
      for (const [attribute, n] of Object.entries(values ?? {})) {
        const [kind, of, bucket] = attribute.split('|')
        if (kind === 't' && of === severity && n !== 0) histogram.set(Number(bucket), (histogram.get(Number(bucket)) ?? 0) + n)
      }
    }
    return { resolved, inTime, medianSeconds: percentileSeconds(histogram, 0.5), p90Seconds: percentileSeconds(histogram, 0.9) }
  })
  const trend = daysBack(now, Math.max(windowDays, MIN_TREND_DAYS)).map((day) => {
    if (trendDays) return { day, opened: trendDays.get(day)?.opened ?? 0, resolved: trendDays.get(day)?.resolved ?? 0 }
    const values = days.get(day)
    return { day, opened: valueOf(values, 'opened'), resolved: severities.reduce((sum, severity) => sum + valueOf(values, `r|${severity}`), 0) }
  })
  const categories = Object.fromEntries(Object.entries(counts).filter(([attribute, n]) => attribute.startsWith('c|') && n !== 0).map(([attribute, n]) => [attribute.slice(2), n]))
  return {
    asOf: now.toISOString(),
    window: { days: windowDays, from: windowDaysList[0]!, to: today },
    ...(asset === undefined ? {} : { asset }),
    open: { total: severities.reduce((sum, severity) => sum + openBySeverity[severity], 0), bySeverity: openBySeverity },
    overdue: { total: severities.reduce((sum, severity) => sum + overdueBySeverity[severity], 0), bySeverity: overdueBySeverity },
    records: records,
    ...(asset === undefined ? { byCategory: categories, topAssets } : {}),
    ...(asset === undefined ? tenantFigures() : {})
  }

  /** Remediation, SLA and trend are the tenant's: the day figures are not kept per asset. */
  function tenantFigures () {
    return {
    remediation: bySeverity((severity) => ({ resolved: remediation[severity].resolved, medianSeconds: remediation[severity].medianSeconds, p90Seconds: remediation[severity].p90Seconds })),
    sla: bySeverity((severity) => ({
      days: remediationSlaDays[severity],
      resolved: remediationSlaDays[severity] === null ? 0 : remediation[severity].resolved,
      resolvedInTime: remediation[severity].inTime,
      compliance: remediationSlaDays[severity] === null || remediation[severity].resolved === 0 ? null : remediation[severity].inTime / remediation[severity].resolved,
      openPastDue: overdueBySeverity[severity]
    })),
    trend
    }
  }
}

export type MetricsSummary = ReturnType<typeof summarize>
