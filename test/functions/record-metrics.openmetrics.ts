/**
 * `npm run test:openmetrics`: record-metrics' `/metrics` read by a real OpenMetrics parser — the
 * reference one of Prometheus' Python client (`prometheus_client.openmetrics.parser`, PyPI
 * prometheus-client), which refuses any text the OpenMetrics 1.0 grammar does not allow. Needs
 * OPENMETRICS_PYTHON: a Python with prometheus-client installed (.ci/run makes a venv for it),
 * so it is not part of `npm test` (Node alone).
 */
import { spawnSync } from 'node:child_process'
import t from 'tap'
import type { FastifyPluginAsync } from 'fastify'
import type { RouteDeps } from '../../shared/app.ts'
import openMetricsRoute from '../../functions/record-metrics/open-metrics-route.ts'
import { allRecordRoutes, buildRecordsApi } from '../support/records-api.ts'

const python = process.env.OPENMETRICS_PYTHON
if (!python) throw new Error('OPENMETRICS_PYTHON must name a Python with prometheus-client installed (see .ci/run)')

/** Parses OpenMetrics text with the reference parser; prints each sample as JSON, or fails naming the error. */
const PARSE = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        print(json.dumps({"family": family.name, "type": family.type, "name": sample.name, "labels": sample.labels, "value": sample.value}))
`

function parse (text: string): Array<{ family: string, type: string, name: string, labels: Record<string, string>, value: number }> {
  const result = spawnSync(python!, ['-c', PARSE], { input: text, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`the OpenMetrics parser refused the text: ${result.stderr}`)
  return result.stdout.trim().split('\n').map((line) => JSON.parse(line))
}

t.test('/metrics is valid OpenMetrics 1.0 text: the opted-in tenant\'s counters and the process metrics', async (t) => {
  const routes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
    await app.register(allRecordRoutes, deps)
    await app.register(openMetricsRoute, { ...deps, tenants: ['acme', 'quiet'] })
  }
  const api = await buildRecordsApi(t, { routes })
  for (const [i, severity] of ['critical', 'high', 'high'].entries()) {
    await api.data.metrics.apply('acme', `r${i}`, 1, { severity: severity as 'high', status: 'open', category: 'vulnerability', asset: 'api', createdAt: '2026-01-01T00:00:00.000Z', statusChangedAt: '2026-01-01T00:00:00.000Z', dueAt: '2026-01-08T00:00:00.000Z' })
  }
  const response = await api.app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  const samples = parse(response.body)
  const sample = (name: string, labels: Record<string, string>) => samples.find((one) => one.name === name && Object.entries(labels).every(([key, value]) => one.labels[key] === value))
  t.equal(sample('security_records_open', { tenant: 'acme', severity: 'high' })?.value, 2)
  t.equal(sample('security_records_overdue', { tenant: 'acme', severity: 'critical' })?.value, 1)
  t.equal(sample('security_records', { tenant: 'acme', severity: 'high', status: 'open' })?.value, 2)
  t.equal(sample('security_records_open', { tenant: 'quiet', severity: 'high' })?.value, 0, 'a tenant without records shows zeros')
  t.equal(samples.find((one) => one.family === 'security_records_open')?.type, 'gauge')
  t.ok(samples.some((one) => one.name === 'record_metrics_process_cpu_user_seconds_total'), 'the process metrics')
  t.ok(samples.some((one) => one.name === 'record_metrics_nodejs_heap_size_used_bytes'))
})
