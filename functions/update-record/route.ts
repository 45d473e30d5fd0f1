import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { addStrictJsonParser } from '../../shared/http/json-body.ts'
import { requestContext, sendRecord } from '../../shared/api/record-reply.ts'
import { updateRecord } from '../../shared/operations/update-record.ts'
import { updateRecordSchema } from './schema.ts'

/** `PATCH /v1/records/{id}`: merge-patch a record, guarded by If-Match. */
const updateRecordRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { data }) => {
  // RFC 7396's media type, parsed exactly like the JSON bodies (strict: shared/http/json-body.ts).
  addStrictJsonParser(app, 'application/merge-patch+json')

  app.patch('/v1/records/:id', { schema: updateRecordSchema, config: { scope: scopes.write } }, async (request, reply) => {
    const record = await updateRecord(data, requestContext(request), request.params.id, request.body, request.headers['if-match'])
    return sendRecord(reply, record)
  })
}

export default updateRecordRoute
