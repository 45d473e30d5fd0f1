import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Negotiator from 'negotiator'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { toListFilters } from '../../shared/api/list-query.ts'
import { resumePosition, sendPage } from '../../shared/api/pagination.ts'
import { requestContext } from '../../shared/api/record-reply.ts'
import { NotAcceptableError } from '../../shared/errors.ts'
import { exportFormats } from '../../shared/exports/export-formats.ts'
import { exportRecords } from '../../shared/operations/export-records.ts'
import { listRecords } from '../../shared/operations/list-records.ts'
import { listRecordsSchema } from './schema.ts'

/** What `Accept` may ask for: a page of JSON (the default), or the whole list in an export format. */
const answered = ['application/json', ...exportFormats.keys()]

/**
 * `GET /v1/records`: one page of the tenant's records, filtered, with an opaque cursor; or, when
 * `Accept` asks for an export format (CSV, OpenVEX, CycloneDX VEX, SARIF), every record of the
 * filter from the cursor on, streamed.
 */
const listRecordsRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { data, cursors }) => {
  app.get('/v1/records', { schema: listRecordsSchema, config: { scope: scopes.read } }, async (request, reply) => {
    const mediaType = new Negotiator(request).mediaType(answered)
    if (!mediaType) throw new NotAcceptableError(`Accept allows none of the media types this list is answered with: ${answered.join(', ')}`)
    reply.header('vary', 'Accept')
    const context = requestContext(request)
    const filters = toListFilters(request.query)
    const binding = { tenant: context.actor.tenant, filters }
    const format = exportFormats.get(mediaType)?.()
    if (format) {
      const parts = await exportRecords(data, context, filters, resumePosition(cursors, request.query.cursor, binding), format)
      return reply.header('cache-control', 'no-store').type(format.contentType).send(Readable.from(parts) as never)
    }
    const page = await listRecords(data, context, filters, request.query.limit, resumePosition(cursors, request.query.cursor, binding))
    return sendPage(request, reply, cursors, page, binding)
  })
}

export default listRecordsRoute
