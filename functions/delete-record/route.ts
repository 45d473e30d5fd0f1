import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { requestContext } from '../../shared/api/record-reply.ts'
import { deleteRecord } from '../../shared/operations/delete-record.ts'
import { deleteRecordSchema } from './schema.ts'

/** `DELETE /v1/records/{id}`: remove a record, optionally guarded by If-Match. */
const deleteRecordRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { data }) => {
  app.delete('/v1/records/:id', { schema: deleteRecordSchema, config: { scope: scopes.delete } }, async (request, reply) => {
    await deleteRecord(data, requestContext(request), request.params.id, request.headers['if-match'])
    return reply.code(204).header('cache-control', 'no-store').send()
  })
}

export default deleteRecordRoute
