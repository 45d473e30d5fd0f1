import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { nextPageLink } from '../../shared/http/pagination.ts'
import { requestContext } from '../../shared/http/record-reply.ts'
import { toListFilters } from '../../shared/records/list-query.ts'
import { listRecordsSchema } from './schema.ts'

/** `GET /v1/records`: one page of the tenant's records, filtered, with an opaque cursor. */
const listRecordsRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/records', { schema: listRecordsSchema, config: { scope: scopes.read } }, async (request, reply) => {
    const context = requestContext(request)
    const filters = toListFilters(request.query)
    const binding = { tenant: context.actor.tenant, filters }
    const after = request.query.cursor === undefined ? undefined : app.cursors.decode(request.query.cursor, binding)
    const page = await app.records.list(context, filters, request.query.limit, after)
    const nextCursor = page.resumeAfter === undefined ? null : app.cursors.encode(page.resumeAfter, binding)
    if (nextCursor) reply.header('link', nextPageLink(request.url, nextCursor))
    return reply.header('cache-control', 'no-store').send({ items: page.items, nextCursor })
  })
}

export default listRecordsRoute
