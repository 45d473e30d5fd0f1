import type { FastifyPluginAsync } from 'fastify'
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { readMetrics } from '../../shared/operations/record-metrics.ts'
import { severities, statuses } from '../../shared/records/vocabulary.ts'

export interface OpenMetricsOptions extends RouteDeps {
  /** The tenants whose counters are exposed (opt-in): each costs a fixed number of reads per scrape. */
  tenants: readonly string[]
}

/**
 * `GET /metrics`: OpenMetrics text for Prometheus (scraped inside the cluster, never routed by the
 * ingress): the process metrics of this function, and the counters of the tenants that opted in.
 */
const openMetricsRoute: FastifyPluginAsync<OpenMetricsOptions> = async (app, { data, tenants }) => {
  const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>()
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  collectDefaultMetrics({ register: registry, prefix: 'record_metrics_' })
  const records = new Gauge({ name: 'security_records', help: 'Records by tenant, severity and status.', labelNames: ['tenant', 'severity', 'status'], registers: [registry] })
  const open = new Gauge({ name: 'security_records_open', help: 'Active records (open, triaged, in progress) by tenant and severity.', labelNames: ['tenant', 'severity'], registers: [registry] })
  const overdue = new Gauge({ name: 'security_records_overdue', help: 'Active records past their due day by tenant and severity.', labelNames: ['tenant', 'severity'], registers: [registry] })
  const compliance = new Gauge({ name: 'security_records_sla_compliance_ratio', help: 'Share of the records resolved in the last 30 days that were resolved by their due date, by tenant and severity.', labelNames: ['tenant', 'severity'], registers: [registry] })

  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
    records.reset(); open.reset(); overdue.reset(); compliance.reset()
    const now = new Date()
    for (const tenant of tenants) {
      const figures = await readMetrics(data.metrics, tenant, { windowDays: 30 }, now)
      for (const severity of severities) {
        for (const status of statuses) records.set({ tenant, severity, status }, figures.records[severity][status] ?? 0)
        open.set({ tenant, severity }, figures.open.bySeverity[severity])
        overdue.set({ tenant, severity }, figures.overdue.bySeverity[severity])
        const ratio = figures.sla?.[severity].compliance
        if (ratio !== null && ratio !== undefined) compliance.set({ tenant, severity }, ratio)
      }
    }
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(await registry.metrics())
  })
}

export default openMetricsRoute
