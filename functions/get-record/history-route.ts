import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { resumePosition, sendPage } from '../../shared/api/pagination.ts'
import { requestContext } from '../../shared/api/record-reply.ts'
import { getRecordHistory } from '../../shared/operations/record-history.ts'
import { recordHistorySchema } from './history-schema.ts'

/** `GET /v1/records/{id}/history`: the audit trail of one record, newest first. */
const recordHistoryRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { data, cursors }) => {
  app.get('/v1/records/:id/history', { schema: recordHistorySchema, config: { scope: scopes.read } }, async (request, reply) => {
    const context = requestContext(request)
    const binding = { tenant: context.actor.tenant, history: request.params.id }
    const before = resumePosition(cursors, request.query.cursor, binding)
    const page = await getRecordHistory(data, context, request.params.id, request.query.limit, before === undefined ? undefined : Number(before))
    return sendPage(request, reply, cursors, page, binding)
  })
}

export default recordHistoryRoute
