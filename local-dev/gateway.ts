import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify'
import replyFrom from '@fastify/reply-from'
import type { TokenVerifier } from '../shared/auth/token-verifier.ts'
import { createBaseApp, DEFAULT_REQUEST_TIMEOUT_MS, loggerOptions } from '../shared/http/base-app.ts'
import { problemBody } from '../shared/http/problem.ts'
import { sendProblem } from '../shared/http/problem-handler.ts'

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
  /** The functions' own verifier, as the ingress check: signature, issuer, audience, expiry, lifetime, `typ` (scopes are the function's job). */
  verifyToken: TokenVerifier
  /** Health endpoints of every upstream, checked by the gateway's own `/healthz`. */
  healthChecks: Record<string, string>
  logLevel?: string
  logger?: boolean
  /** REQUEST_TIMEOUT_MS: a client slower than this gets a problem+json 408. */
  requestTimeoutMs?: number
}

/** The gateway streams bodies through; the function behind it enforces its own, smaller limit. */
const PASS_THROUGH_BODY_LIMIT = 1024 * 1024

/**
 * The local stand-in for the cluster ingress: routes by method and path, exactly as the Istio
 * VirtualService generated from the same table does, and refuses `/v1/` requests without a
 * valid access token before any function sees them (like RequestAuthentication +
 * AuthorizationPolicy). Bodies are streamed through untouched; the functions validate them.
 */
export async function buildGateway (options: GatewayOptions): Promise<FastifyInstance> {
  const app = await createBaseApp({
    logger: options.logger === false ? false : loggerOptions(options.logLevel ?? 'info'),
    bodyLimit: PASS_THROUGH_BODY_LIMIT,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  })
  // Pass every body through as a stream: parsing is the function's job.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
  await app.register(options.verifyToken)
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1, keepAliveTimeout: 10_000 } })

  for (const route of options.routes) {
    app.route({
      method: route.method,
      url: route.path,
      onRequest: route.authenticated ? checkToken : undefined,
      handler: (request, reply) => reply.from(`${route.upstream}${request.url}`, {
        rewriteRequestHeaders: (_request, headers) => ({ ...headers, 'x-request-id': request.id, 'x-forwarded-host': request.headers.host ?? '' }),
        onError: (errorReply, { error }) => {
          request.log.warn({ err: error }, 'upstream unavailable')
          sendProblem(errorReply as never, problemBody(request, 'SR_BAD_GATEWAY', 'The function serving this route did not answer; retry later'))
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
async function checkToken (request: FastifyRequest): Promise<void> {
  await request.verifyAccessToken()
}
