import { Type } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { etagOf } from '../records/etag.ts'
import type { RequestContext } from '../records/records-service.ts'
import { RecordId, type SecurityRecord } from '../records/schema.ts'

/** The path parameter of every single-record route. */
export const RecordParams = Type.Object({ id: RecordId })

/** What a handler passes to the records service: the verified caller, the time and the request id. */
export function requestContext (request: FastifyRequest): RequestContext {
  return { actor: request.actor, now: new Date(), requestId: request.id }
}

/** Sends one record with its ETag; record responses are never cached by intermediaries. */
export function sendRecord (reply: FastifyReply, record: SecurityRecord) {
  return reply.header('etag', etagOf(record)).header('cache-control', 'no-store').send(record)
}

export const recordHeaders = {
  ETag: { description: 'The record version\'s entity tag; send it as If-Match to change the record.', schema: { type: 'string' } }
}
