import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import authPlugin from './auth/auth-plugin.ts'
import type { TokenVerifier } from './auth/token-verifier.ts'
import type { Config } from './config.ts'
import problemHandler from './http/problem-handler.ts'
import rateLimiting from './http/rate-limit.ts'
import requestLimits, { clientErrorHandler, frameworkErrorReply, MAX_HEADER_BYTES, MAX_PARAM_LENGTH } from './http/request-limits.ts'
import { functionServerOptions, requestLogSerializer } from './http/server-options.ts'
import { createEventSink, type EventSink } from './events/record-events.ts'
import { createRecordsService, type RecordsService, type RecordsServiceOptions } from './records/records-service.ts'
import type { Store } from './store/client.ts'
import { createCursorCodec, type CursorCodec } from './store/cursor.ts'
import { createStoreModules } from './store/index.ts'
import { storeCall } from './store/store-errors.ts'
import { validatorCompiler } from './validation.ts'

declare module 'fastify' {
  interface FastifyInstance {
    records: RecordsService
    cursors: CursorCodec
  }
}

export type App = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>

export interface AppOptions {
  /** Rate limiting is on only when RATE_LIMIT is 'on' (loadConfig's default); test apps leave it out. */
  config: Pick<Config, 'LOG_LEVEL'> & Partial<Pick<Config, 'CURSOR_SECRET' | 'RATE_LIMIT' | 'RATE_LIMIT_MAX' | 'REQUEST_TIMEOUT_MS'>>
  store: Store
  /** Token verification; a function without scoped routes (ingest-finding) has none. */
  verifyToken?: TokenVerifier
  isRevoked?: (issuer: string, tokenId: string) => Promise<boolean>
  /** The function's routes. */
  routes: FastifyPluginAsync
  /** Where CloudEvents of committed changes go (K_SINK); none are produced without it. */
  eventSink?: EventSink
  /** Test-only fault injection after a record write (see RecordsServiceOptions). */
  afterRecordWrite?: RecordsServiceOptions['afterRecordWrite']
  logger?: FastifyServerOptions['logger']
}

/** Request bodies larger than this are refused with 413 (a full record is well below). */
export const BODY_LIMIT_BYTES = 256 * 1024
/** Log configuration: tokens, secrets and idempotency keys never reach a log line. */
export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["idempotency-key"]', 'headers.authorization', 'authorization', 'client_secret', 'access_token', 'token'],
      censor: '[redacted]'
    },
    // A token a confused client put in the query string must not reach the log either.
    serializers: { req: requestLogSerializer }
  }
}

/**
 * Builds a function's Fastify app (never listens): request ids, problem+json errors, security
 * headers, token checks, the data layer, health, and the function's own routes.
 */
export async function buildApp (options: AppOptions): Promise<App> {
  const requestTimeout = options.config.REQUEST_TIMEOUT_MS ?? functionServerOptions.requestTimeout
  const app = Fastify({
    logger: options.logger ?? loggerOptions(options.config.LOG_LEVEL),
    ...functionServerOptions,
    requestTimeout,
    // Given to Node at creation too: set afterwards (all Fastify does), it never cuts off a slow
    // body, only slow headers. Node looks for overdue requests every connectionsCheckingInterval.
    http: { requestTimeout, connectionsCheckingInterval: Math.min(requestTimeout, 5_000), maxHeaderSize: MAX_HEADER_BYTES },
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Bad percent-encoding in the path, over-long parameters and unparseable requests bypass the
    // error handler; they get problem+json too.
    frameworkErrors: frameworkErrorReply,
    clientErrorHandler
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  // JSON only: any other body type is a 415, not a string for the schema to puzzle over.
  app.removeContentTypeParser('text/plain')
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  await app.register(problemHandler)
  await app.register(helmet, {
    // An API serves JSON only: nothing may be framed, scripted or sniffed. useDefaults: false, or
    // helmet adds the script/style/font allowances a web page needs and a JSON answer does not.
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    hsts: { maxAge: 31_536_000, includeSubDomains: true }
  })
  // After helmet (its headers go on these 4xx too), before token checks: garbage costs no crypto.
  await app.register(requestLimits)
  if (options.verifyToken) {
    await app.register(authPlugin, { verifyToken: options.verifyToken, ...(options.isRevoked ? { isRevoked: options.isRevoked } : {}) })
  } else {
    // Without a verifier no route may ask for a scope: it would silently be left open.
    app.addHook('onRoute', (route) => {
      if (route.config?.scope) throw new Error(`route ${route.method} ${route.url} needs ${route.config.scope} but the app has no token verifier`)
    })
  }
  if (options.config.RATE_LIMIT === 'on') await app.register(rateLimiting, { max: options.config.RATE_LIMIT_MAX ?? 1200 })
  await app.register(fp(async (instance) => {
    instance.decorate('records', createRecordsService(createStoreModules(options.store), {
      sink: options.eventSink ?? createEventSink(undefined),
      log: instance.log,
      ...(options.afterRecordWrite ? { afterRecordWrite: options.afterRecordWrite } : {})
    }))
    if (options.config.CURSOR_SECRET) instance.decorate('cursors', createCursorCodec(options.config.CURSOR_SECRET))
  }, { name: 'security-records-data' }))

  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => {
    // A point read of a key that never exists: proves the store answers, costs almost nothing.
    await storeCall(() => options.store.documents.send(new GetCommand({ TableName: options.store.tableName, Key: { pk: 'HEALTH', sk: 'HEALTH' } })))
    return reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })

  await app.register(options.routes)
  return app as unknown as App
}
