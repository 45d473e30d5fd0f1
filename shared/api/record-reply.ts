import { Type } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RequestContext } from '../operations/request-context.ts'
import { etagOf } from '../records/etag.ts'
import { RecordId, type SecurityRecord } from '../records/schema.ts'

/** The path parameter of every single-record route. */
export const RecordParams = Type.Object({ id: RecordId })

/**
 * What a handler passes to an operation: the caller the token names, the time and the request
 * id. Only routes that declare a scope have a verified token; asking elsewhere is a bug.
 */
export function requestContext (request: FastifyRequest): RequestContext {
  const token = request.accessToken
  if (!token) throw new Error(`requestContext: ${request.routeOptions.url} declares no scope, so it has no verified caller`)
  return { actor: { sub: token.subject, clientId: token.clientId, tenant: token.tenant, ...(token.name === undefined ? {} : { name: token.name }) }, now: new Date(), requestId: request.id, ...(request.clientRequestId === undefined ? {} : { clientRequestId: request.clientRequestId }) }
}

/** Sends one record with its ETag; record responses are never cached by intermediaries. */
export function sendRecord (reply: FastifyReply, record: SecurityRecord) {
  return reply.header('etag', etagOf(record)).header('cache-control', 'no-store').send(record)
}
