import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { DestinationStream } from 'pino'
import { MethodNotAllowedError } from '../errors.ts'
import problemHandler from './problem-handler.ts'
import { clientErrorHandler, expectationFailed, frameworkErrorReply, keepReadingUnreadBody, MAX_HEADER_BYTES, MAX_PARAM_LENGTH } from './request-limits.ts'
import { securityHeaders, type SecurityHeaderOverrides } from './security-headers.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any server, request, reply and logger type: only the type provider is fixed
export type BaseApp = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>

export interface BaseAppOptions {
  /** Pino options (see loggerOptions), or false for none. */
  logger: FastifyServerOptions['logger'] | false
  /** Largest request body accepted; more is a 413. */
  bodyLimit: number
  /** Time a client has to send a whole request; slower senders get a problem+json 408. */
  requestTimeoutMs: number
  /** Security headers that differ from the API's (mock-auth's metadata is for any origin). */
  headers?: SecurityHeaderOverrides
  /** Proxies whose X-Forwarded-For is believed (Fastify `trustProxy`); none by default. */
  trustProxy?: string[]
  /** Top-level body fields the server sets (a record's): sending one is a 400 that says so. */
  readOnlyFields?: readonly string[]
}

/** An X-Request-Id a caller sent that is kept (as `clientRequestId`); any other is ignored. */
export const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's X-Request-Id (a client's, or the ingress's), when it is one: for correlation, beside the server's own `id`. */
    clientRequestId: string | undefined
  }
}
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
/** While closing, how often connections that finished their request are closed. */
const DRAIN_CHECK_MS = 50
/** While closing, new connections are still accepted until none arrived for this long (a client sent them before it could know)… */
const ACCEPT_QUIET_MS = 100
/** …but for no longer than this, however busy the clients. */
const ACCEPT_AT_MOST_MS = 500
/** While closing, how long kept-alive connections may still bring a request (Istio's drain is 5 s). */
const KEEP_ALIVE_GRACE_MS = 500
/** While closing, how long an accepted connection may take to bring its first request before it is closed. */
const FIRST_REQUEST_GRACE_MS = 2_000
const SECRET_QUERY_PARAMETERS = /([?&](?:access_token|token|client_secret|refresh_token|id_token|code|password)=)[^&#]*/gi

/** A URL as logs may show it: credentials a confused client put in the query string are blanked. */
export function loggableUrl (url: string): string {
  return url.replace(SECRET_QUERY_PARAMETERS, '$1[redacted]')
}

/** Log configuration of every process: tokens, secrets, idempotency keys and bodies never reach a log line. */
export function loggerOptions (level: string, stream?: DestinationStream): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'req.headers["idempotency-key"]', 'headers.authorization',
        'authorization', 'client_secret', 'access_token', 'token', 'body', 'req.body'
      ],
      censor: '[redacted]'
    },
    // Method and loggable URL only: never headers or body, and no token a client put in the query.
    serializers: { req: (request: { method: string, url: string }) => ({ method: request.method, url: loggableUrl(request.url) }) }
  }
}

type SerializerFactory = ReturnType<typeof SerializerSelector>

/**
 * Fastify's serializers (fast-json-stringify), each built when its route first answers with its
 * status instead of all at start: every route declares a schema for every status, errors
 * included, and building them all was the largest part of building an app (a cold start waits
 * for it; most error statuses are never sent by a given process).
 */
export const serializersOnFirstUse: SerializerFactory = (externalSchemas, options) => {
  const build = SerializerSelector()(externalSchemas, options)
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined
    return (data) => (serialize ??= build(route) as (data: unknown) => string)(data)
  }
}

/**
 * A Fastify app as every process here starts it (functions, mock-auth, the local gateway): its
 * own id for every request, the caller's `x-request-id` kept beside it, bounded request time with a
 * problem+json 408, a graceful close (drainConnections), poisoned JSON refused, problem+json for
 * every error the framework or Node's parser produces, and the API's security headers on every answer.
 */
export async function createBaseApp (options: BaseAppOptions): Promise<BaseApp> {
  const requestTimeout = options.requestTimeoutMs
  const app = Fastify({
    logger: options.logger,
    requestTimeout,
    // Given to Node at creation too: set afterwards (all Fastify does), it never cuts off a slow
    // body, only slow headers. Node looks for overdue requests every connectionsCheckingInterval.
    http: { requestTimeout, connectionsCheckingInterval: Math.min(requestTimeout, 5_000), maxHeaderSize: MAX_HEADER_BYTES },
    bodyLimit: options.bodyLimit,
    ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A request that reached the process while it closes is served (with Connection: close), not
    // refused with Fastify's bare 503: its client sent it before it could know (drainConnections).
    return503OnClosing: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Every process names each request itself: an id a client chose never reaches a log line's
    // reqId, a lease owner or an audit entry (the caller's id is kept beside it, clientRequestId).
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    // Bad percent-encoding in the path, over-long parameters and unparseable requests bypass the
    // error handler; they get problem+json too.
    frameworkErrors: frameworkErrorReply,
    clientErrorHandler,
    schemaController: { compilersFactory: { buildSerializer: serializersOnFirstUse } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  await app.register(baseApp, { headers: options.headers ?? {}, readOnlyFields: options.readOnlyFields ?? [] })
  return app as unknown as BaseApp
}

export { DEFAULT_REQUEST_TIMEOUT_MS }

/**
 * The methods of every path the app routes, to answer a method the path lacks with 405 and
 * `Allow` (RFC 9110 §15.5.6) instead of a 404, whatever the method (TRACE, QUERY, OPTIONS, …) and
 * before its body or content type is looked at.
 */
function createMethodTable () {
  const paths = new Map<string, { pattern: RegExp, methods: Set<string> }>()
  const patternOf = (url: string) => new RegExp(`^${url.split(/(:\w+|\*)/).map((part) =>
    part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('')}$`)
  return {
    add (url: string, method: string | string[]) {
      const entry = paths.get(url) ?? paths.set(url, { pattern: patternOf(url), methods: new Set() }).get(url)!
      for (const name of [method].flat()) entry.methods.add(name.toUpperCase())
    },
    /** The methods the path has, sorted; empty for a path no route matches. */
    allowed (path: string): string[] {
      const methods = new Set<string>()
      for (const { pattern, methods: those } of paths.values()) if (pattern.test(path)) those.forEach((method) => methods.add(method))
      return [...methods].sort()
    }
  }
}

/** Request id and security headers on every answer, 405 for a method a path lacks, and the one problem handler. */
const baseApp = fp<{ headers: SecurityHeaderOverrides, readOnlyFields: readonly string[] }>(async (app, options) => {
  const headers = securityHeaders(options.headers)
  const methods = createMethodTable()
  app.addHook('onRoute', (route) => methods.add(route.url, route.method))
  app.decorateRequest('clientRequestId', undefined)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id).headers(headers)
    const incoming = request.headers['x-request-id']
    if (typeof incoming === 'string' && CLIENT_REQUEST_ID.test(incoming)) {
      request.clientRequestId = incoming
      request.log = request.log.child({ clientRequestId: incoming })
    }
    if (!request.is404) return
    const path = (request.raw.url ?? '/').split('?')[0]!
    const allowed = methods.allowed(path)
    if (allowed.length === 0) return
    reply.header('allow', allowed.join(', '))
    throw new MethodNotAllowedError(request.method, path, allowed.join(', '))
  })
  let closing = false
  app.addHook('onSend', async (request, reply, payload) => {
    keepReadingUnreadBody(request, reply)
    // Closing: no further request on this connection.
    if (closing) reply.header('connection', 'close')
    return payload
  })
  app.addHook('preClose', async () => {
    closing = true
    await drainConnections(app.server)
  })
  app.server.on('checkExpectation', expectationFailed)
  await app.register(problemHandler, { readOnlyFields: options.readOnlyFields })
}, { name: 'security-records-base-app', fastify: '5.x' })

/**
 * How a server closes without dropping a request a client already sent (SIGTERM, Knative
 * scale-down), as an ingress drains:
 * 1. the listener keeps accepting until no connection arrived for ACCEPT_QUIET_MS (at most
 *    ACCEPT_AT_MOST_MS): a connection the kernel completed is in the listen backlog, and closing
 *    the listener would reset it; every answer now says Connection: close;
 * 2. the listener closes: new connections are refused (Node's own `close()` would also cut every
 *    kept-alive connection that is idle at that instant, and with it a request its client was
 *    just sending);
 * 3. for KEEP_ALIVE_GRACE_MS, kept-alive connections still bring requests their clients sent
 *    before they could know; each is served, its answer saying Connection: close;
 * 4. connections accepted but still without their first request get up to FIRST_REQUEST_GRACE_MS
 *    to bring it (Node counts them as idle and would close them with the idle ones);
 * 5. then Fastify closes the server, and every connection is closed as soon as it has no request
 *    in flight (Node closes the idle ones only once; one busy then would stay open, kept alive,
 *    until its client gives up).
 */
async function drainConnections (server: Server): Promise<void> {
  if (!server.listening) return
  const waitingForFirstRequest = new Set<Socket>()
  const accepted = (socket: Socket) => {
    lastArrival = performance.now()
    waitingForFirstRequest.add(socket)
    socket.once('close', () => waitingForFirstRequest.delete(socket))
  }
  const served = (request: IncomingMessage) => { waitingForFirstRequest.delete(request.socket) }
  let lastArrival = performance.now()
  server.on('connection', accepted).on('request', served)
  const acceptEnds = lastArrival + ACCEPT_AT_MOST_MS
  do await sleep(DRAIN_CHECK_MS)
  while (performance.now() - lastArrival < ACCEPT_QUIET_MS && performance.now() < acceptEnds)
  NetServer.prototype.close.call(server)
  server.off('connection', accepted)

  const graceEnds = performance.now() + KEEP_ALIVE_GRACE_MS
  while (performance.now() < graceEnds && await openConnections(server) > 0) await sleep(DRAIN_CHECK_MS)
  const firstRequestEnds = performance.now() + FIRST_REQUEST_GRACE_MS
  while (waitingForFirstRequest.size > 0 && performance.now() < firstRequestEnds) await sleep(DRAIN_CHECK_MS)
  server.off('request', served)
  const closeIdle = setInterval(() => server.closeIdleConnections(), DRAIN_CHECK_MS).unref()
  server.once('close', () => clearInterval(closeIdle))
}
function openConnections (server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)))
}
