import type { IncomingHttpHeaders } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify'
import replyFrom from '@fastify/reply-from'
import { CLIENT_ADDRESS_HEADER } from '../functions/mock-auth/endpoints.ts'
import type { TokenVerifier } from '../shared/auth/token-verifier.ts'
import { createBaseApp, DEFAULT_REQUEST_TIMEOUT_MS, loggerOptions } from '../shared/http/base-app.ts'
import { problemBody } from '../shared/http/problem.ts'
import { sendProblem } from '../shared/http/problem-handler.ts'
import { checkRequestTarget } from '../shared/http/request-limits.ts'

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
  // The request target rule every function applies, before the token check and before the
  // proxy decodes the target to build the upstream URL (a malformed query would throw there).
  app.addHook('onRequest', async (request) => checkRequestTarget(request.raw.url ?? '/'))
  // Pass every body through as a stream: parsing is the function's job.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, forwardedBody(payload)))
  await app.register(options.verifyToken)
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1, keepAliveTimeout: 10_000 } })

  for (const route of options.routes) {
    app.route({
      method: route.method,
      url: route.path,
      onRequest: route.authenticated ? checkToken : undefined,
      handler: (request, reply) => reply.from(`${route.upstream}${request.url}`, {
        rewriteRequestHeaders: (_request, headers) => forwardedHeaders(request, headers),
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

/**
 * The body as the function gets it: a stream of its own, not the client's request. When a
 * function answers before reading the whole body (a 413 from Content-Length), undici destroys the
 * body it was sending; were that the client's request, the client's connection would go with it,
 * often before the answer reached it. The rest of the client's body is then read and dropped
 * (keepReadingUnreadBody), like any early answer's.
 */
function forwardedBody (payload: Readable): Readable {
  const body = new PassThrough()
  payload.on('error', (error) => body.destroy(error))
  return payload.pipe(body)
}

/**
 * The request headers a function gets. `Expect` is not passed on: Node answered the client's
 * `100-continue` when the request arrived, and the body follows; the function answers what it
 * makes of the body, early or not. The client's address is stamped as the ingress stamps it
 * (CLIENT_ADDRESS_HEADER), replacing any value the client sent. The cluster ingress does the same: Envoy's
 * HttpConnectionManager `proxy_100_continue` is unset, so Envoy "will instead strip the
 * 'Expect: 100-continue' header, and send a '100 Continue' response itself"
 * (api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto).
 */
function forwardedHeaders (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { expect: _answered, ...forwarded } = headers
  return { ...forwarded, 'x-request-id': request.id, 'x-forwarded-host': request.headers.host ?? '', [CLIENT_ADDRESS_HEADER]: request.socket.remoteAddress ?? '' }
}

/** The ingress's token check; the function checks again, scopes and tenant included. */
async function checkToken (request: FastifyRequest): Promise<void> {
  await request.verifyAccessToken()
}
