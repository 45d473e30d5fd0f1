import type { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { requestContext } from '../../shared/api/record-reply.ts'
import { formatOfMediaType, formatOfReport, isGenericMediaType, reportFormats, reportMediaTypes } from '../../shared/imports/formats.ts'
import { applyVex } from '../../shared/imports/vex/apply-vex.ts'
import { vexFormatOf, vexMediaTypes } from '../../shared/imports/vex/vex-document.ts'
import { getImport, importView } from '../../shared/imports/get-import.ts'
import { processImport } from '../../shared/imports/process-import.ts'
import { receiveReport } from '../../shared/imports/receive-report.ts'
import { readReport, REPORT_CONTENT_ENCODINGS } from '../../shared/imports/report-reader.ts'
import { readReportStart } from '../../shared/imports/report-start.ts'
import { OverloadedError, RateLimitedError, UnsupportedMediaTypeError } from '../../shared/errors.ts'
import { createBackgroundImports } from './background-imports.ts'
import { createImportSlots } from './import-slots.ts'
import { applyVexSchema, getImportSchema, importReportSchema } from './schema.ts'

/** Reports with at most this many results are applied before the answer (one chunk). */
const INLINE_RESULTS = 100
/**
 * Reports an instance receives at once, and of them at most this many of one tenant: each holds
 * what the scanner keeps of it (bounded) while it streams in. Beyond them the answer is a 503
 * (this instance is busy: another may not be) or a 429 (the tenant's), both with Retry-After.
 */
export const RECEIVE_LIMITS = { perInstance: 4, perTenant: 2 } as const

/**
 * `POST /v1/imports` receives a report (in any format of shared/imports/formats.ts) as a stream (never buffered whole), applies small ones
 * at once (201) and queues the rest (202, processed in the background); `GET /v1/imports/{id}`
 * follows one.
 */
const importReportRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { data, importResultsInFlight }) => {
  // The body reaches the handler as a stream; report-reader.ts bounds, decodes and scans it.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser([...new Set([...reportMediaTypes, ...vexMediaTypes])], (_request, payload, done) => done(null, payload))
  const background = createBackgroundImports(data, app.log, importResultsInFlight)
  const receiving = createImportSlots(RECEIVE_LIMITS)
  app.addHook('onClose', async () => background.stop())
  /** A receiving slot of this instance (reports and VEX documents alike); a 503 or 429 when none is free. */
  const takeSlot = (tenant: string) => {
    const slot = receiving.take(tenant)
    if ('full' in slot) {
      throw slot.full === 'instance'
        ? new OverloadedError(`This instance is receiving ${RECEIVE_LIMITS.perInstance} reports, as many as it takes at once; retry later`)
        : new RateLimitedError(`a few seconds: ${RECEIVE_LIMITS.perTenant} reports of your tenant are being received, as many as an instance takes of one tenant at once`)
    }
    return slot
  }

  app.post('/v1/imports', { schema: importReportSchema, config: { scope: scopes.write, contentEncodings: REPORT_CONTENT_ENCODINGS } }, async (request, reply) => {
    const context = requestContext(request)
    const slot = takeSlot(context.actor.tenant)
    try {
      const { asset, assetType, environment, category } = request.query
      const contentType = request.headers['content-type']
      // The content type parser took only media types some format is sent as; without a body there
      // is no Content-Type to go by, and the reader answers that the report is missing (400).
      let payload = request.body as Readable | undefined
      let start = ''
      if (payload && isGenericMediaType(contentType)) ({ start, payload } = await readReportStart(payload, request.headers['content-encoding']))
      if (!isGenericMediaType(contentType) && contentType && !formatOfMediaType(contentType)) throw new UnsupportedMediaTypeError(`${contentType.slice(0, 100)} is not a report this endpoint imports (${reportMediaTypes.join(', ')}); VEX documents go to POST /v1/vex`)
      const format = formatOfReport(contentType, start) ?? reportFormats[0]!
      const pieces = readReport({ payload, contentType, contentEncoding: request.headers['content-encoding'], contentLength: request.headers['content-length'] }, format.paths)
      const received = await receiveReport(data, context, { asset: { name: asset, type: assetType, ...(environment ? { environment } : {}) }, ...(category ? { category } : {}) }, format, pieces)
      let finished
      if (received.counts.results <= INLINE_RESULTS) {
        finished = await processImport(data, received.tenant, received.id, { owner: `request:${request.id}`, resultsInFlight: importResultsInFlight, onTurn: (next) => background.start(received.tenant, next) })
          .catch((error: unknown) => { request.log.warn({ err: error, importId: received.id }, 'import interrupted; the sweeper resumes it') })
      } else {
        background.start(received.tenant, received.id)
      }
      return reply.code(finished ? 201 : 202).header('location', `/v1/imports/${received.id}`).header('cache-control', 'no-store')
        .send(importView(finished ?? received))
    } finally {
      slot.release()
    }
  })

  app.post('/v1/vex', { schema: applyVexSchema, config: { scope: scopes.write, contentEncodings: REPORT_CONTENT_ENCODINGS } }, async (request, reply) => {
    const context = requestContext(request)
    const slot = takeSlot(context.actor.tenant)
    try {
      const contentType = request.headers['content-type']
      let payload = request.body as Readable | undefined
      let start = ''
      if (payload && isGenericMediaType(contentType)) ({ start, payload } = await readReportStart(payload, request.headers['content-encoding']))
      const format = vexFormatOf(contentType, start)
      const pieces = readReport({ payload, contentType, contentEncoding: request.headers['content-encoding'], contentLength: request.headers['content-length'] }, format.paths)
      return reply.header('cache-control', 'no-store').send(await applyVex(data, context, format, pieces))
    } finally {
      slot.release()
    }
  })

  app.get('/v1/imports/:id', { schema: getImportSchema, config: { scope: scopes.read } }, async (request, reply) => {
    return reply.header('cache-control', 'no-store').send(await getImport(data, requestContext(request), request.params.id))
  })
}

export default importReportRoute
