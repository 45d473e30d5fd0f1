import type { FastifyPluginAsync } from 'fastify'
import type { RouteDeps } from '../../shared/app.ts'
import { createEventSink } from '../../shared/events/record-events.ts'
import { createFunctionApp, startFunction, type FunctionDefinition } from '../../shared/server.ts'
import { IngestConfigSchema } from './config.ts'
import { deliveryVerifierFrom } from '../../shared/auth/delivery-auth.ts'
import ingestFindingRoute from './route.ts'

/**
 * ingest-finding: findings in. Access tokens for the producer path and the local CloudEvent path,
 * the broker's sender identity for its deliveries, the store and the sink; no cursor key.
 */
export const definition: FunctionDefinition<typeof IngestConfigSchema> = {
  name: 'ingest-finding',
  configSchema: IngestConfigSchema,
  async build (config) {
    const verifyDelivery = deliveryVerifierFrom(config)
    const findingSink = createEventSink(config.K_SINK, { tokenFile: config.K_SINK_TOKEN_FILE })
    const routes: FastifyPluginAsync<RouteDeps> = async (app, deps) => ingestFindingRoute(app, { ...deps, verifyDelivery, findingSink })
    return createFunctionApp(routes, config)
  }
}

if (import.meta.main) await startFunction(definition)
