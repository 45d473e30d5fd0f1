import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { requestContext, sendRecord } from '../../shared/api/record-reply.ts'
import { getRecord } from '../../shared/operations/get-record.ts'
import { etagOf, matchesIfNoneMatch } from '../../shared/records/etag.ts'
import recordHistoryRoute from './history-route.ts'
import { getRecordSchema } from './schema.ts'

/** `GET /v1/records/{id}`: one record, or 304 when the client's copy is current; and its history. */
const getRecordRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  await app.register(recordHistoryRoute, deps)
  app.get('/v1/records/:id', { schema: getRecordSchema, config: { scope: scopes.read } }, async (request, reply) => {
    const record = await getRecord(deps.data, requestContext(request), request.params.id)
    const ifNoneMatch = request.headers['if-none-match']
    if (ifNoneMatch !== undefined && matchesIfNoneMatch(ifNoneMatch, record)) {
      return reply.code(304).header('etag', etagOf(record)).header('cache-control', 'no-store').send()
    }
    return sendRecord(reply, record)
  })
}

export default getRecordRoute
