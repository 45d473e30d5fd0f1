import rateLimit from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { RateLimitedError } from '../errors.ts'

export interface RateLimitOptions {
  /** Requests one OAuth client may make per window, per process. */
  max: number
  /** The window, 60 s unless a test wants a shorter one. */
  timeWindowMs?: number
}


/** The client the verified token was issued to: one budget per client, whatever its IP or token. */
function clientKey (request: FastifyRequest): string {
  const token = request.accessToken
  return token ? `client ${token.issuer} ${token.clientId}` : 'anonymous'
}

/**
 * Per-client rate limiting (OWASP API4). It runs in `preParsing`, after the auth plugin's
 * `onRequest` hook has verified the token, so the key is a client that proved who it is and a
 * limited request is refused before its body is read. Routes without a token (health,
 * CloudEvents from the broker) are not limited here; the ingress limits by address.
 */
const rateLimiting: FastifyPluginAsync<RateLimitOptions> = async (app, options) => {
  if (!Number.isInteger(options.max) || options.max < 1) throw new Error('rate limiting: max must be a positive integer')
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: options.timeWindowMs ?? 60_000,
    hook: 'preParsing',
    keyGenerator: clientKey,
    allowList: (request) => !request.accessToken,
    // RateLimit-Limit/-Remaining/-Reset (IETF httpapi draft) and Retry-After on 429.
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after)
  })
}

export default fp(rateLimiting, { name: 'security-records-rate-limit', fastify: '5.x', dependencies: ['security-records-problems'] })
