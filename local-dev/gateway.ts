import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyRequest, type HTTPMethods } from 'fastify'
import replyFrom from '@fastify/reply-from'
import { loggerOptions } from '../shared/app.ts'
import type { TokenVerifier } from '../shared/auth/token-verifier.ts'
import { InvalidTokenError } from '../shared/errors.ts'
import problemHandler from '../shared/http/problem-handler.ts'
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE } from '../shared/http/problem.ts'
import { clientErrorHandler } from '../shared/http/request-limits.ts'

/** One route of the gateway: which upstream serves it, and whether a token is checked first. */
export interface GatewayRoute {
  method: HTTPMethods | HTTPMethods[]
  /** A Fastify path; a trailing `*` matches a whole prefix. */
  path: string
  upstream: string
  authenticated: boolean
}

export interface GatewayOptions {
  routes: GatewayRoute[]
  /** The ingress check: signature, issuer, audience, expiry, `typ` (scopes are the function's job). */
  verifyToken: TokenVerifier
  /** Health endpoints of every upstream, checked by the gateway's own `/healthz`. */
  healthChecks: Record<string, string>
  logLevel?: string
  logger?: boolean
}

const BEARER = /^Bearer +(\S+) *$/i
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/

/**
 * The local stand-in for the cluster ingress: routes by method and path, exactly as the Istio
 * VirtualService generated from the same table does, and refuses `/v1/` requests without a
 * valid access token before any function sees them (like RequestAuthentication +
 * AuthorizationPolicy). Bodies are streamed through untouched; the functions validate them.
 */
export async function buildGateway (options: GatewayOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger === false ? false : loggerOptions(options.logLevel ?? 'info'),
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    return503OnClosing: true,
    // What Node's HTTP parser refuses (a 431 for headers over maxHeaderSize) is problem+json too, as from the functions.
    clientErrorHandler
  })
  // Pass every body through as a stream: parsing is the function's job.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
  await app.register(problemHandler)
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1, keepAliveTimeout: 10_000 } })

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  for (const route of options.routes) {
    app.route({
      method: route.method,
      url: route.path,
      onRequest: route.authenticated ? async (request) => { await checkToken(request, options.verifyToken) } : undefined,
      handler: (request, reply) => reply.from(`${route.upstream}${request.url}`, {
        rewriteRequestHeaders: (_request, headers) => ({ ...headers, 'x-request-id': request.id, 'x-forwarded-host': request.headers.host ?? '' }),
        onError: (errorReply, { error }) => {
          request.log.warn({ err: error }, 'upstream unavailable')
          errorReply.code(502).type(PROBLEM_CONTENT_TYPE).send({
            type: `${PROBLEM_TYPE_BASE}bad-gateway`, title: 'Bad gateway', status: 502,
            detail: 'The function serving this route did not answer; retry later', instance: request.url.split('?')[0], requestId: request.id
          })
        }
      })
    })
  }

  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => {
    const results = await Promise.all(Object.entries(options.healthChecks).map(async ([name, url]) => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
        return [name, response.ok ? 'ok' : `unhealthy (${response.status})`] as const
      } catch {
        return [name, 'unreachable'] as const
      }
    }))
    const healthy = results.every(([, state]) => state === 'ok')
    return reply.code(healthy ? 200 : 503).header('cache-control', 'no-store').send({ status: healthy ? 'ok' : 'degraded', functions: Object.fromEntries(results) })
  })
  return app
}

/** The ingress's token check; the function checks again, scopes and tenant included. */
async function checkToken (request: FastifyRequest, verifyToken: TokenVerifier): Promise<void> {
  const match = BEARER.exec(request.headers.authorization ?? '')
  if (!match) throw new InvalidTokenError('This request needs an access token (Authorization: Bearer <token>)')
  await verifyToken(match[1]!)
}
