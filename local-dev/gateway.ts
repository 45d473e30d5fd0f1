import type { IncomingHttpHeaders, Server } from 'node:http'
import type { Socket } from 'node:net'
import { PassThrough, type Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import replyFrom from '@fastify/reply-from'
import { CLIENT_ADDRESS_HEADER } from '../functions/mock-auth/endpoints.ts'
import { addressKey } from '../functions/mock-auth/guessing-throttle.ts'
import type { TokenVerifier } from '../shared/auth/token-verifier.ts'
import { createBaseApp, DEFAULT_REQUEST_TIMEOUT_MS, loggerOptions } from '../shared/http/base-app.ts'
import { cachedCheck } from '../shared/health-check.ts'
import { problemBody } from '../shared/http/problem.ts'
import { sendProblem } from '../shared/http/problem-handler.ts'
import { checkRequestTarget } from '../shared/http/request-limits.ts'
import { send } from '../shared/outbound.ts'

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
  /** Requests one function may have in flight or waiting for one of its connections; more get a 503 (default UPSTREAM_REQUESTS_IN_FLIGHT). */
  maxRequestsPerUpstream?: number
  /** Connections one client address may hold open; requests on more get a 503 (default CONNECTIONS_PER_ADDRESS). */
  maxConnectionsPerAddress?: number
  /** Requests one client address may make (RATE_LIMIT on); none when left out. */
  addressRateLimit?: AddressRateLimit
}

/** The per-address request rate (ADDRESS_RATE_LIMIT in shared/routing-table.ts: the cluster ingress applies the same). */
export interface AddressRateLimit {
  /** Requests per second one address may make, sustained. */
  perSecond: number
  /** Requests one address may make at once beyond that rate. */
  burst: number
}

/** The gateway streams bodies through; the function behind it enforces its own, smaller limit. */
const PASS_THROUGH_BODY_LIMIT = 1024 * 1024
/** Connections the gateway opens to one function. */
const UPSTREAM_CONNECTIONS = 128
/**
 * Requests one function may have in flight through the gateway: its connections, and as many
 * again waiting for one. A request past that is answered 503 at once instead of waiting behind
 * uploads that may each take REQUEST_TIMEOUT_MS (Envoy's circuit breaker: max_requests, max_pending_requests).
 */
const UPSTREAM_REQUESTS_IN_FLIGHT = 2 * UPSTREAM_CONNECTIONS
/** Connections one client address may hold: no one address can take every function's connections and queue. */
const CONNECTIONS_PER_ADDRESS = 96

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
  if (options.addressRateLimit) limitRequestsPerAddress(app, options.addressRateLimit)
  // The request target rule every function applies, before the token check and before the
  // proxy decodes the target to build the upstream URL (a malformed query would throw there).
  app.addHook('onRequest', async (request) => checkRequestTarget(request.raw.url ?? '/'))
  // Pass every body through as a stream: parsing is the function's job.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, forwardedBody(payload)))
  limitConnectionsPerAddress(app, options.maxConnectionsPerAddress ?? CONNECTIONS_PER_ADDRESS)
  await app.register(options.verifyToken)
  // destroyAgent: the kept-alive connections to the functions close with the gateway, instead of
  // keeping each function's drain waiting for them until their keep-alive ends.
  await app.register(replyFrom, { undici: { connections: UPSTREAM_CONNECTIONS, pipelining: 1, keepAliveTimeout: 10_000 }, destroyAgent: true })

  const slots = upstreamSlots(options.maxRequestsPerUpstream ?? UPSTREAM_REQUESTS_IN_FLIGHT)
  for (const route of options.routes) {
    app.route({
      method: route.method,
      url: route.path,
      onRequest: route.authenticated ? checkToken : undefined,
      handler: (request, reply) => {
        const slot = slots.take(route.upstream)
        if (!slot) {
          destroyUnsentBody(request)
          return sendProblem(reply, problemBody(request, 'SR_OVERLOADED', 'The function serving this route has as many requests waiting as the gateway takes; retry later'))
        }
        reply.raw.once('close', slot.clientDone)
        return reply.from(`${route.upstream}${request.url}`, {
          rewriteRequestHeaders: (_request, headers) => forwardedHeaders(request, headers),
          rewriteHeaders: (headers) => {
            slot.upstreamDone()
            return headers
          },
          onError: (errorReply, { error }) => {
            slot.upstreamDone()
            request.log.warn({ err: error }, 'upstream unavailable')
            sendProblem(errorReply as never, problemBody(request, 'SR_BAD_GATEWAY', 'The function serving this route did not answer; retry later'))
          }
        })
      }
    })
  }

  const checkFunctions = cachedCheck(() => Promise.all(Object.entries(options.healthChecks).map(async ([name, url]) => {
    try {
      // A connection of its own each time: none is left open to keep a function's drain waiting.
      const response = await send(url, { headers: { connection: 'close' }, timeoutMs: 5000 })
      return [name, response.status === 200 ? 'ok' : `unhealthy (${response.status})`] as const
    } catch {
      return [name, 'unreachable'] as const
    }
  })), { isOk: (results) => results.every(([, state]) => state === 'ok') })
  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => {
    const results = await checkFunctions()
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
  // The client went away (a reset, REQUEST_TIMEOUT_MS): the upstream request fails with its body,
  // and undici aborts it. Not pipeline(): that would also destroy the client's request, and its
  // connection, when undici gives up the body after an early answer.
  payload.on('error', (error) => body.destroy(error))
  // A request still waiting for an upstream connection has not been handed its body: no one else
  // listens yet, and an unheard 'error' would end the process.
  body.on('error', ignoreForwardedBodyError)
  return payload.pipe(body)
}

interface UpstreamSlot {
  /** The client has its answer, or went away. */
  clientDone (): void
  /** The function answered (its headers came), or the request to it failed. */
  upstreamDone (): void
}

/**
 * Requests each function has through the gateway, bounded: a slot is taken when a request is
 * forwarded and given back once both its client is done and the function answered or failed —
 * a client that leaves does not free the slot of a request still queued for or running in the
 * function (a bodiless one runs on; one with a body fails with it).
 */
function upstreamSlots (max: number) {
  const taken = new Map<string, number>()
  return {
    take (upstream: string): UpstreamSlot | undefined {
      const count = taken.get(upstream) ?? 0
      if (count >= max) return undefined
      taken.set(upstream, count + 1)
      const waitingFor = new Set(['client', 'upstream'])
      const done = (side: string) => () => {
        if (waitingFor.delete(side) && waitingFor.size === 0) taken.set(upstream, taken.get(upstream)! - 1)
      }
      return { clientDone: done('client'), upstreamDone: done('upstream') }
    }
  }
}

/** Undici reports a failed body as the upstream request's failure; the stream's own event adds nothing. */
function ignoreForwardedBodyError (): void {}

/** A body the gateway answers without forwarding: its stream is dropped; the client's bytes are read and thrown away (keepReadingUnreadBody). */
function destroyUnsentBody (request: FastifyRequest): void {
  if (request.body instanceof PassThrough) request.body.destroy()
}

/** Sockets past their address's connection limit: every request on them gets a 503 and the connection is closed. */
const overLimit = new WeakSet<Socket>()

/**
 * At most `limit` connections from one client address (Envoy's per-downstream connection limit,
 * nginx's limit_conn). The connection past it is not dropped silently: its request gets a
 * problem+json 503 with Retry-After, and the connection is closed; it never reaches a function.
 */
function limitConnectionsPerAddress (app: FastifyInstance, limit: number): void {
  const server = app.server as Server
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const count = (open.get(address) ?? 0) + 1
    if (count > limit) {
      overLimit.add(socket)
      return
    }
    open.set(address, count)
    socket.once('close', () => {
      const left = open.get(address)! - 1
      if (left === 0) open.delete(address)
      else open.set(address, left)
    })
  })
  app.addHook('onRequest', async (request, reply: FastifyReply) => {
    if (!overLimit.has(request.raw.socket)) return
    reply.header('connection', 'close')
    return sendProblem(reply, problemBody(request, 'SR_OVERLOADED', `This address has ${limit} connections open to the gateway, as many as it takes; retry later`))
  })
}

/** How long a request over its address's rate may wait for its turn; past that it is refused. */
const ADDRESS_RATE_MAX_WAIT_MS = 1000

/**
 * At most `perSecond` requests per second from one client address (an IPv6 /64 counts as one), after
 * a burst of `burst` (GCRA, the token bucket nginx's `limit_req` and Envoy's local rate limit keep).
 * A request over the rate waits its turn, as nginx's `limit_req` without `nodelay` makes it, for up
 * to ADDRESS_RATE_MAX_WAIT_MS; one that would wait longer gets a 429 problem+json with Retry-After.
 * Waiting instead of refusing at once matters in a one-process stack: a client that sends again as
 * soon as it is refused would keep the event loop every function shares busy with refusals; waiting
 * holds it to the rate. Checked first, before the request target or the token costs anything.
 */
function limitRequestsPerAddress (app: FastifyInstance, { perSecond, burst }: AddressRateLimit): void {
  if (!(perSecond > 0) || !Number.isInteger(burst) || burst < 1) throw new Error('gateway: addressRateLimit needs perSecond > 0 and a positive integer burst')
  const interval = 1000 / perSecond
  const tolerance = (burst - 1) * interval
  /** Per address, when its next request would be on time (the GCRA's theoretical arrival time). */
  const nextDue = new Map<string, number>()
  let sinceSweep = 0
  app.addHook('onRequest', async (request, reply) => {
    const now = performance.now()
    if (++sinceSweep > 10_000) {
      sinceSweep = 0
      for (const [address, due] of nextDue) if (due < now) nextDue.delete(address)
    }
    const address = addressKey(request.socket.remoteAddress ?? '')
    const due = Math.max(nextDue.get(address) ?? now, now)
    const wait = due - tolerance - now
    if (wait > ADDRESS_RATE_MAX_WAIT_MS) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)))
      destroyUnsentBody(request)
      return sendProblem(reply, problemBody(request, 'SR_RATE_LIMITED', `This address makes more than ${perSecond} requests per second; retry after the seconds in Retry-After`))
    }
    nextDue.set(address, due + interval)
    if (wait > 0) await sleep(wait)
  })
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
  // The client's request id, if it sent one, is the one the function keeps beside its own; else the gateway's.
  return { ...forwarded, 'x-request-id': request.clientRequestId ?? request.id, 'x-forwarded-host': request.headers.host ?? '', [CLIENT_ADDRESS_HEADER]: request.socket.remoteAddress ?? '' }
}

/** The ingress's token check; the function checks again, scopes and tenant included. */
async function checkToken (request: FastifyRequest): Promise<void> {
  await request.verifyAccessToken()
}
