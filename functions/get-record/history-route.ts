import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { nextPageLink } from '../../shared/http/pagination.ts'
import { requestContext } from '../../shared/http/record-reply.ts'
import { recordHistorySchema } from './history-schema.ts'

/** `GET /v1/records/{id}/history`: the audit trail of one record, newest first. */
const recordHistoryRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/records/:id/history', { schema: recordHistorySchema, config: { scope: scopes.read } }, async (request, reply) => {
    const context = requestContext(request)
    const binding = { tenant: context.actor.tenant, history: request.params.id }
    const before = request.query.cursor === undefined ? undefined : Number(app.cursors.decode(request.query.cursor, binding))
    const page = await app.records.history(context, request.params.id, request.query.limit, before)
    const nextCursor = page.resumeAfter === undefined ? null : app.cursors.encode(page.resumeAfter, binding)
    if (nextCursor) reply.header('link', nextPageLink(request.url, nextCursor))
    return reply.header('cache-control', 'no-store').send({ items: page.items, nextCursor })
  })
}

export default recordHistoryRoute
