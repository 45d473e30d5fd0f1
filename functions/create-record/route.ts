import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { requestContext, sendRecord } from '../../shared/api/record-reply.ts'
import { createRecord } from '../../shared/operations/create-record.ts'
import { createRecordSchema } from './schema.ts'

/** `POST /v1/records`: create a record, idempotently when the client sends a key. */
const createRecordRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { data }) => {
  app.post('/v1/records', { schema: createRecordSchema, config: { scope: scopes.write } }, async (request, reply) => {
    const { record, replayed } = await createRecord(data, requestContext(request), request.body, request.headers['idempotency-key'])
    if (replayed) reply.header('idempotent-replayed', 'true')
    return sendRecord(reply.code(201).header('location', `/v1/records/${record.id}`), record)
  })
}

export default createRecordRoute
