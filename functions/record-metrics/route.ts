import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from '../../shared/api/route-deps.ts'
import { requestContext } from '../../shared/api/record-reply.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { readMetrics } from '../../shared/operations/record-metrics.ts'
import { getMetricsSchema } from './schema.ts'

/** A weak tag of the figures (their time of reading left out): equal figures, equal tag. */
function figuresTag (figures: Record<string, unknown>): string {
  const { asOf, ...rest } = figures
  return `W/"${createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 27)}"`
}

const matches = (header: string | undefined, tag: string) =>
  header !== undefined && (header.trim() === '*' || header.split(',').some((one) => one.trim().replace(/^W\//, '') === tag.replace(/^W\//, '')))

/** `GET /v1/metrics`: the tenant's figures, from its counters alone. */
const metricsRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { data }) => {
  app.get('/v1/metrics', { schema: getMetricsSchema, config: { scope: scopes.read } }, async (request, reply) => {
    const context = requestContext(request)
    const windowDays = Number(request.query.window.slice(0, -1))
    const figures = await readMetrics(data.metrics, context.actor.tenant, { windowDays: Math.min(windowDays, 365), ...(request.query.asset === undefined ? {} : { asset: request.query.asset }) }, context.now)
    const tag = figuresTag(figures)
    reply.header('etag', tag).header('cache-control', 'private, no-cache')
    if (matches(request.headers['if-none-match'], tag)) return reply.code(304).send()
    return reply.send(figures)
  })
}

export default metricsRoute
