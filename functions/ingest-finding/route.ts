import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { HTTP, type CloudEvent } from 'cloudevents'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import type { EventSink } from '../../shared/events/record-events.ts'
import { brokerUnavailable, invalidFields } from '../../shared/errors.ts'
import { addStrictJsonParser } from '../../shared/http/json-body.ts'
import { requestContext } from '../../shared/api/record-reply.ts'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { refuseDeliveries, type DeliveryVerifier } from '../../shared/auth/delivery-auth.ts'
import type { FindingReport } from '../../shared/records/ingest-rules.ts'
import { checkTenantExtension, createIngestFindingHandler, stampedFindingEvent, stampedReporter } from './handler.ts'
import { brokerDeliverySchema, localFindingSchema, reportFindingSchema } from './schema.ts'

export interface IngestRouteOptions extends RouteDeps {
  /** Who may deliver on `POST /` (the broker); without it every delivery is refused. */
  verifyDelivery?: DeliveryVerifier
  /** Where `POST /v1/findings` publishes (the broker, K_SINK); disabled: the finding is applied at once. */
  findingSink?: EventSink
}

/**
 * Findings in, three ways, none of which takes the tenant or the actor from the event:
 * - `POST /v1/findings` (API, `records:write`): the producer path — the report, stamped with the
 *   token's tenant and identity, published to the broker (202); applied at once where there is no broker.
 * - `POST /` (cluster): the findings Trigger's deliveries, sender checked (Knative OIDC); the
 *   reporter is what the producer path stamped.
 * - `POST /events/findings` (local stack): a CloudEvent with an access token (`records:write`);
 *   the reporter is the token's, a `tenant` extension naming another tenant is a 403.
 */
const ingestFindingRoute: FastifyPluginAsync<IngestRouteOptions> = async (app, { data, verifyDelivery = refuseDeliveries, findingSink }) => {
  addStrictJsonParser(app, 'application/cloudevents+json')
  const handle = createIngestFindingHandler(data)

  app.post('/v1/findings', { schema: reportFindingSchema, config: { scope: scopes.write } }, async (request, reply) => {
    const reporter = requestContext(request).actor
    // Validated against the route's body schema (FindingReport) before this runs.
    const event = stampedFindingEvent(request.body as FindingReport, reporter)
    if (findingSink?.enabled) {
      // A broker that does not take the event in time (or refuses it) published nothing: retry later.
      await findingSink.deliver(event).catch((error: unknown) => { throw brokerUnavailable(error) })
      return reply.code(202).send({ eventId: event.id })
    }
    return reply.send(await handle(event, reporter, request.id))
  })

  app.post('/', { schema: brokerDeliverySchema, onRequest: async (request) => verifyDelivery(request.headers.authorization) }, async (request, reply) => {
    const event = cloudEventOf(request)
    return reply.send(await handle(event, stampedReporter(event), request.id))
  })

  app.post('/events/findings', { schema: localFindingSchema, config: { scope: scopes.write } }, async (request, reply) => {
    const event = cloudEventOf(request)
    const reporter = requestContext(request).actor
    checkTenantExtension(event, reporter)
    return reply.send(await handle(event, reporter, request.id))
  })
}

/** One CloudEvent from the request, binary or structured mode, or a 400. */
function cloudEventOf (request: FastifyRequest): CloudEvent<unknown> {
  let event: CloudEvent<unknown>
  try {
    event = HTTP.toEvent({ headers: request.headers, body: request.body }) as CloudEvent<unknown>
  } catch (error) {
    throw invalidFields([{ path: '', message: `not a valid CloudEvent: ${(error as Error).message.slice(0, 200)}` }])
  }
  if (Array.isArray(event)) throw invalidFields([{ path: '', message: 'batched CloudEvents are not accepted; send one event per request' }])
  return event
}

export default ingestFindingRoute
