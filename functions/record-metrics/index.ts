import type { FastifyPluginAsync } from 'fastify'
import type { RouteDeps } from '../../shared/app.ts'
import { deliveryVerifierFrom } from '../../shared/auth/delivery-auth.ts'
import { createFunctionApp, startFunction, type FunctionDefinition } from '../../shared/server.ts'
import { MetricsConfigSchema } from './config.ts'
import deliveryRoute from './delivery-route.ts'
import openMetricsRoute from './open-metrics-route.ts'
import metricsRoute from './route.ts'

/**
 * record-metrics: the record events in (a Trigger on the broker, sender checked), the tenant's
 * counters kept, `GET /v1/metrics` answered from them, and `/metrics` for Prometheus.
 */
export const definition: FunctionDefinition<typeof MetricsConfigSchema> = {
  name: 'record-metrics',
  configSchema: MetricsConfigSchema,
  routes: metricsRoute as FastifyPluginAsync<RouteDeps>,
  async build (config) {
    const verifyDelivery = deliveryVerifierFrom(config)
    const prometheusTenants = config.METRICS_PROMETHEUS_TENANTS.split(',').filter(Boolean)
    const routes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
      await app.register(metricsRoute, deps)
      await app.register(deliveryRoute, { ...deps, verifyDelivery, paused: config.METRICS_DELIVERIES === 'paused' })
      await app.register(openMetricsRoute, { ...deps, tenants: prometheusTenants })
    }
    return createFunctionApp(routes, config)
  }
}

if (import.meta.main) await startFunction(definition)
