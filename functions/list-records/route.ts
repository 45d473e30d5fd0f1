import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { toListFilters } from '../../shared/api/list-query.ts'
import { resumePosition, sendPage } from '../../shared/api/pagination.ts'
import { requestContext } from '../../shared/api/record-reply.ts'
import { listRecords } from '../../shared/operations/list-records.ts'
import { listRecordsSchema } from './schema.ts'

/** `GET /v1/records`: one page of the tenant's records, filtered, with an opaque cursor. */
const listRecordsRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { data, cursors }) => {
  app.get('/v1/records', { schema: listRecordsSchema, config: { scope: scopes.read } }, async (request, reply) => {
    const context = requestContext(request)
    const filters = toListFilters(request.query)
    const binding = { tenant: context.actor.tenant, filters }
    const page = await listRecords(data, context, filters, request.query.limit, resumePosition(cursors, request.query.cursor, binding))
    return sendPage(request, reply, cursors, page, binding)
  })
}

export default listRecordsRoute
