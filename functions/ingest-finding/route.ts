import type { FastifyPluginAsync } from 'fastify'
import type { RouteDeps } from '../../shared/http/route-deps.ts'
import { HTTP, type CloudEvent } from 'cloudevents'
import { invalidFields } from '../../shared/errors.ts'
import { addStrictJsonParser } from '../../shared/http/json-body.ts'
import { createIngestFindingHandler } from './handler.ts'
import { ingestFindingSchema } from './schema.ts'

/**
 * Serves the CloudEvent handler over HTTP for Knative (a Trigger's subscriber posts to `/`)
 * and the local stack (`POST /events/findings`): binary or structured mode.
 */
const ingestFindingRoute: FastifyPluginAsync<RouteDeps> = async (app, { data }) => {
  addStrictJsonParser(app, 'application/cloudevents+json')
  const handle = createIngestFindingHandler(data)

  for (const url of ['/', '/events/findings']) {
    app.post(url, { schema: ingestFindingSchema }, async (request, reply) => {
      let event: CloudEvent<unknown>
      try {
        event = HTTP.toEvent({ headers: request.headers, body: request.body }) as CloudEvent<unknown>
      } catch (error) {
        throw invalidFields([{ path: '', message: `not a valid CloudEvent: ${(error as Error).message.slice(0, 200)}` }])
      }
      if (Array.isArray(event)) throw invalidFields([{ path: '', message: 'batched CloudEvents are not accepted; send one event per request' }])
      return reply.send(await handle(event))
    })
  }
}

export default ingestFindingRoute
