import type { FastifyPluginAsync, FastifyServerOptions } from 'fastify'
import authPlugin from './auth/auth-plugin.ts'
import type { TokenVerifier } from './auth/token-verifier.ts'
import type { Config } from './config.ts'
import { createEventSink, type EventSink } from './events/record-events.ts'
import { createBaseApp, DEFAULT_REQUEST_TIMEOUT_MS, loggerOptions, type BaseApp } from './http/base-app.ts'
import { createCursorCodec } from './api/cursor.ts'
import strictJsonBodies from './http/json-body.ts'
import rateLimiting from './http/rate-limit.ts'
import requestLimits from './http/request-limits.ts'
import tenantFairness from './http/tenant-fairness.ts'
import type { RouteDeps } from './api/route-deps.ts'
import { createDataLayer } from './operations/data-layer.ts'
import type { Store } from './store/client.ts'
import { cachedCheck } from './health-check.ts'
import { pingStore } from './store/table.ts'
import { serverFields } from './records/vocabulary.ts'
import { validatorCompiler } from './validation.ts'

export type App = BaseApp
export type { RouteDeps }

export interface AppOptions {
  /** Rate limiting and tenant fairness are on only when RATE_LIMIT is 'on' (loadConfig's default); test apps leave them out. */
  config: Pick<Config, 'LOG_LEVEL'> & Partial<Pick<Config, 'CURSOR_SECRET' | 'RATE_LIMIT' | 'RATE_LIMIT_MAX' | 'TENANT_REQUESTS_IN_FLIGHT' | 'TENANT_REQUESTS_QUEUED' | 'REQUEST_TIMEOUT_MS' | 'IMPORT_RESULTS_IN_FLIGHT'>>
  store: Store
  /** Token verification; a function without scoped routes has none. */
  verifyToken?: TokenVerifier
  isRevoked?: (issuer: string, tokenId: string) => Promise<boolean>
  /** The function's routes. */
  routes: FastifyPluginAsync<RouteDeps>
  /** Where CloudEvents of committed changes go (K_SINK); none are produced without it. */
  eventSink?: EventSink
  logger?: FastifyServerOptions['logger']
}

/** Request bodies larger than this are refused with 413 (a full record is well below). */
export const BODY_LIMIT_BYTES = 256 * 1024

export { loggerOptions }

/**
 * Builds a function's Fastify app (never listens): the base app (request ids, problem+json,
 * security headers), request limits, token checks, rate limits and per-tenant concurrency, health, and the function's
 * routes with the data layer they call.
 */
export async function buildApp (options: AppOptions): Promise<App> {
  const app = await createBaseApp({
    logger: options.logger ?? loggerOptions(options.config.LOG_LEVEL),
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeoutMs: options.config.REQUEST_TIMEOUT_MS ?? DEFAULT_REQUEST_TIMEOUT_MS,
    readOnlyFields: serverFields
  })
  app.setValidatorCompiler(validatorCompiler)
  // JSON only: any other body type is a 415, not a string for the schema to puzzle over.
  app.removeContentTypeParser('text/plain')
  // Duplicate names, NUL, lone surrogates: 400; a charset other than UTF-8: 415 (I-JSON, RFC 7493).
  await app.register(strictJsonBodies)

  // Before token checks: garbage costs no crypto.
  await app.register(requestLimits)
  if (options.verifyToken) {
    await app.register(authPlugin, { verifyToken: options.verifyToken, ...(options.isRevoked ? { isRevoked: options.isRevoked } : {}) })
  } else {
    // Without a verifier no route may ask for a scope: it would silently be left open.
    app.addHook('onRoute', (route) => {
      if (route.config?.scope) throw new Error(`route ${route.method} ${route.url} needs ${route.config.scope} but the app has no token verifier`)
    })
  }
  if (options.config.RATE_LIMIT === 'on') {
    await app.register(rateLimiting, { max: options.config.RATE_LIMIT_MAX ?? 1200 })
    // After the per-client budget: a request refused by it never takes one of its tenant's places.
    await app.register(tenantFairness, {
      tenantOf: (request) => request.accessToken?.tenant,
      inFlight: options.config.TENANT_REQUESTS_IN_FLIGHT ?? 16,
      queued: options.config.TENANT_REQUESTS_QUEUED ?? 30
    })
  }

  const storeAnswers = cachedCheck(() => pingStore(options.store))
  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => {
    await storeAnswers()
    return reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })

  const data = createDataLayer(options.store, { sink: options.eventSink ?? createEventSink(undefined), log: app.log })
  // Responses leave at their commit point; closing (SIGTERM) waits for the follow-ups still running.
  app.addHook('onClose', async () => data.publisher.drain())
  await app.register(options.routes, { data, cursors: createCursorCodec(options.config.CURSOR_SECRET), ...(options.config.IMPORT_RESULTS_IN_FLIGHT === undefined ? {} : { importResultsInFlight: options.config.IMPORT_RESULTS_IN_FLIGHT }) })
  return app
}
