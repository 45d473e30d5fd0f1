import type { FastifyPluginAsync } from 'fastify'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { refuseDeliveries, type DeliveryVerifier } from '../../shared/auth/delivery-auth.ts'
import { cloudEventOf } from '../../shared/events/incoming-event.ts'
import { addStrictJsonParser } from '../../shared/http/json-body.ts'
import { MetricsPausedError } from '../../shared/errors.ts'
import { countRecordEvent } from '../../shared/operations/record-metrics.ts'
import { recordDeliverySchema } from './delivery-schema.ts'

export interface DeliveryRouteOptions extends RouteDeps {
  /** Who may deliver on `POST /` (the broker; the local stack's fan-out); without it every delivery is refused. */
  verifyDelivery?: DeliveryVerifier
  /** Every delivery answered 503 (the broker redelivers it later): while the counters are rewritten. */
  paused?: boolean
}

/**
 * `POST /`: the record events Trigger's deliveries (`record.created|updated|deleted`), sender
 * checked, counted exactly once in effect. A 2xx only once the counters hold the change: a
 * failure is redelivered by the broker (or, locally, by the outbox sweeper).
 */
const deliveryRoute: FastifyPluginAsync<DeliveryRouteOptions> = async (app, { data, verifyDelivery = refuseDeliveries, paused = false }) => {
  addStrictJsonParser(app, 'application/cloudevents+json')
  app.post('/', { schema: recordDeliverySchema, onRequest: async (request) => verifyDelivery(request.headers.authorization) }, async (request, reply) => {
    if (paused) throw new MetricsPausedError()
    const event = cloudEventOf(request)
    const { outcome, recordId, version } = await countRecordEvent(data.metrics, event)
    return reply.send({ outcome, id: recordId, version })
  })
}

export default deliveryRoute
