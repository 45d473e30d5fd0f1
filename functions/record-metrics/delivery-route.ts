import type { FastifyPluginAsync } from 'fastify'
import { HTTP, type CloudEvent } from 'cloudevents'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { refuseDeliveries, type DeliveryVerifier } from '../../shared/auth/delivery-auth.ts'
import { invalidFields } from '../../shared/errors.ts'
import { addStrictJsonParser } from '../../shared/http/json-body.ts'
import { countRecordEvent } from '../../shared/operations/record-metrics.ts'
import { recordDeliverySchema } from './delivery-schema.ts'

export interface DeliveryRouteOptions extends RouteDeps {
  /** Who may deliver on `POST /` (the broker; the local stack's fan-out); without it every delivery is refused. */
  verifyDelivery?: DeliveryVerifier
}

/**
 * `POST /`: the record events Trigger's deliveries (`record.created|updated|deleted`), sender
 * checked, counted exactly once in effect. A 2xx only once the counters hold the change: a
 * failure is redelivered by the broker (or, locally, by the outbox sweeper).
 */
const deliveryRoute: FastifyPluginAsync<DeliveryRouteOptions> = async (app, { data, verifyDelivery = refuseDeliveries }) => {
  addStrictJsonParser(app, 'application/cloudevents+json')
  app.post('/', { schema: recordDeliverySchema, onRequest: async (request) => verifyDelivery(request.headers.authorization) }, async (request, reply) => {
    let event: CloudEvent<unknown>
    try {
      event = HTTP.toEvent({ headers: request.headers, body: request.body }) as CloudEvent<unknown>
    } catch (error) {
      throw invalidFields([{ path: '', message: `not a valid CloudEvent: ${(error as Error).message.slice(0, 200)}` }])
    }
    if (Array.isArray(event)) throw invalidFields([{ path: '', message: 'batched CloudEvents are not accepted; send one event per request' }])
    const { outcome, recordId, version } = await countRecordEvent(data.metrics, event)
    return reply.send({ outcome, id: recordId, version })
  })
}

export default deliveryRoute
