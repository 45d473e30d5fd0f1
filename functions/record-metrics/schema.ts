import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { MAX_WINDOW_DAYS, MIN_TREND_DAYS } from '../../shared/metrics/summary.ts'
import { severities, statuses } from '../../shared/records/vocabulary.ts'

const Count = Type.Integer({ minimum: 0 })
const perSeverity = <T extends Parameters<typeof Type.Object>[0][string]>(value: T) => Type.Object(Object.fromEntries(severities.map((severity) => [severity, value])) as Record<typeof severities[number], T>)
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A day (UTC).' })
const Seconds = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Seconds (the upper bound of a duration bucket about 9 % wide); null when nothing was resolved.' })

export const MetricsQuery = Type.Object({
  window: Type.String({ pattern: '^[1-9][0-9]{0,2}d$', default: '30d', description: `The window of the remediation and SLA figures, in days back from today (UTC) included: \`7d\`, \`30d\` … up to \`${MAX_WINDOW_DAYS}d\`.` }),
  asset: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'An asset name: the counts (open, overdue, by status) of that asset alone; remediation and trend figures are the tenant\'s and are then left out.' }))
}, { additionalProperties: false })

export const Metrics = Type.Object({
  asOf: Type.String({ format: 'date-time' }),
  window: Type.Object({ days: Type.Integer({ minimum: 1, maximum: MAX_WINDOW_DAYS }), from: Day, to: Day }),
  asset: Type.Optional(Type.String()),
  open: Type.Object({ total: Count, bySeverity: perSeverity(Count) }, { description: 'Records in an active status (open, triaged, in_progress).' }),
  overdue: Type.Object({ total: Count, bySeverity: perSeverity(Count) }, { description: 'Active records whose due day (UTC) is over.' }),
  records: perSeverity(Type.Object(Object.fromEntries(statuses.map((status) => [status, Count])))),
  byCategory: Type.Optional(Type.Record(Type.String(), Count, { description: 'Active records by category.' })),
  topAssets: Type.Optional(Type.Array(Type.Object({ name: Type.String(), open: Count }), { description: 'The assets with the most active records, most first.' })),
  remediation: Type.Optional(perSeverity(Type.Object({
    resolved: Count,
    medianSeconds: Seconds,
    p90Seconds: Seconds
  }, { description: 'Records resolved in the window (and still resolved): time from first seen (`createdAt`) to resolved.' }))),
  sla: Type.Optional(perSeverity(Type.Object({
    days: Type.Union([Type.Integer(), Type.Null()], { description: 'The SLA in days; null: none (info).' }),
    resolved: Count,
    resolvedInTime: Count,
    compliance: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: 'Share of the resolved ones resolved by their due date; null when none was resolved.' }),
    openPastDue: Count
  }))),
  trend: Type.Optional(Type.Array(Type.Object({ day: Day, opened: Count, resolved: Count }), { description: `Records opened and resolved per day (those that still exist, and are still resolved), oldest first: the window's days, at least ${MIN_TREND_DAYS}.` }))
})

export const getMetricsSchema = {
  operationId: 'getMetrics',
  summary: 'Security metrics of the tenant',
  description: 'Live counts (open by severity and status, overdue, by category, top assets), remediation times (median, p90) and SLA compliance over a window, and opened versus resolved per day. Answered from counters the `record-metrics` function keeps from the record events, in a fixed number of reads whatever the tenant\'s size; changes show once their events are counted (seconds).',
  tags: ['metrics'],
  querystring: MetricsQuery,
  response: {
    200: { description: 'The figures; `ETag` names them, `If-None-Match` answers 304 while they are unchanged.', content: { 'application/json': { schema: Metrics } } },
    304: { description: 'The figures are unchanged since the ETag sent in If-None-Match.' },
    ...problemResponses(400, 401, 403, 429, 503)
  }
}
