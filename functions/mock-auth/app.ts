import formbody from '@fastify/formbody'
import type { DestinationStream } from 'pino'
import { ConfigError } from '../../shared/config.ts'
import { cachedCheck } from '../../shared/health-check.ts'
import { createBaseApp, DEFAULT_REQUEST_TIMEOUT_MS, loggerOptions, type BaseApp } from '../../shared/http/base-app.ts'
import { validatorCompiler } from '../../shared/validation.ts'
import { clientAddressResolver, trustedProxyList } from './client-address.ts'
import clientAuthentication from './client-auth.ts'
import { createClientRegistry, type RegisteredClient } from './clients.ts'
import discoveryRoute from './discovery-route.ts'
import { ISSUER_PATTERN } from './endpoints.ts'
import { createGuessingThrottle } from './guessing-throttle.ts'
import introspectionRoute from './introspection-route.ts'
import { refuseLocalClientsOffLoopback, refuseLocalUsersOffLoopback } from './local-clients.ts'
import authorizeRoute from './authorize-route.ts'
import { createAuthorizationCodes } from './authorization-codes.ts'
import { createUserDirectory, type LocalUser } from './users.ts'
import type { RedeemedCodes } from '../../shared/store/redeemed-codes.ts'
import { oauthErrorHandler } from './oauth-errors.ts'
import revocationRoute from './revocation-route.ts'
import { createSecretCheckQueue } from './secret-check-queue.ts'
import services, { type AuthorizationServer } from './services.ts'
import type { SigningKeys } from './signing-keys.ts'
import tokenRoute from './token-route.ts'

export type MockAuthApp = BaseApp

export interface MockAuthAppOptions {
  /** `iss` of every token and base of every endpoint URL: an origin such as http://127.0.0.1:8080. */
  issuer: string
  /** `aud` when the client names no resource; default `security-records-api`. */
  defaultAudience?: string
  clients: readonly RegisteredClient[]
  /**
   * The people who may sign in (the authorization code grant), and where redeemed codes are
   * remembered. Without it the server has no authorization endpoint: clients only.
   */
  people?: { users: readonly LocalUser[], redeemedCodes: RedeemedCodes }
  signingKeys: SigningKeys
  /** The denylist the records API reads (shared/store/revoked-tokens.ts). */
  revocations: AuthorizationServer['revocations']
  /** Log level and, for tests, where the lines go; false for none. Redaction always applies. */
  logger?: { level: string, stream?: DestinationStream } | false
  /** Time a client has to send a whole request (REQUEST_TIMEOUT_MS); 30 s by default. */
  requestTimeoutMs?: number
  /** The clock tokens are issued and checked by, and failed authentications counted by (tests move it). */
  now?: () => Date
  /**
   * The proxies in front of this server whose X-Forwarded-For is believed (Fastify `trustProxy`,
   * proxy-addr syntax: `loopback`, `uniquelocal`, `linklocal` and addresses or CIDRs, comma-separated).
   * Failed authentications are counted by the nearest address that is not one of them.
   * Empty or absent: the peer's own address.
   */
  trustedProxies?: string
  /**
   * A header the edge proxy sets to the client's address (AUTH_CLIENT_ADDRESS_HEADER), believed
   * from trusted proxies only; see `clientAddressResolver`.
   */
  clientAddressHeader?: string
}

export const DEFAULT_AUDIENCE = 'security-records-api'
/** OAuth requests are a few short parameters; anything larger is refused with 413. */
export const OAUTH_BODY_LIMIT_BYTES = 8 * 1024

/**
 * The mock OAuth 2.0 authorization server as a Fastify app (never listens): discovery and JWKS
 * (problem+json errors like every function), the authorization endpoint where people sign in
 * (HTML pages), and the token, introspection and revocation endpoints (RFC 6749 JSON errors,
 * form bodies only, client authentication).
 */
export async function buildMockAuthApp (options: MockAuthAppOptions): Promise<MockAuthApp> {
  if (!new RegExp(ISSUER_PATTERN).test(options.issuer)) throw new ConfigError(`mock-auth: the issuer must be an origin like https://auth.example.com (got ${options.issuer})`)
  if (!options.signingKeys?.signer) throw new ConfigError('mock-auth: signingKeys is required (see loadSigningKeys)')
  if (typeof options.revocations?.revoke !== 'function') throw new ConfigError('mock-auth: a revocation store is required')
  refuseLocalClientsOffLoopback(options.issuer, options.clients)
  refuseLocalUsersOffLoopback(options.issuer, options.people?.users ?? [])
  const clients = createClientRegistry(options.clients)
  const users = options.people ? createUserDirectory(options.people.users) : undefined
  const clientAddress = clientAddressResolver(options)

  const app = await createBaseApp({
    logger: options.logger === false ? false : loggerOptions(options.logger?.level ?? 'info', options.logger?.stream),
    bodyLimit: OAUTH_BODY_LIMIT_BYTES,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...(options.trustedProxies ? { trustProxy: trustedProxyList(options.trustedProxies) } : {}),
    // Metadata and keys are meant for anyone who verifies our tokens, browsers included.
    headers: { 'cross-origin-resource-policy': 'cross-origin' }
  })
  app.setValidatorCompiler(validatorCompiler)
  await app.register(services, {
    issuer: options.issuer,
    signsInPeople: users !== undefined,
    defaultAudience: options.defaultAudience ?? DEFAULT_AUDIENCE,
    signingKeys: options.signingKeys,
    revocations: options.revocations,
    ...(options.now ? { now: options.now } : {})
  })

  // A denylist read of an id that never exists: proves the store answers, costs almost nothing.
  const storeAnswers = cachedCheck(() => options.revocations.isRevoked(options.issuer, 'healthz'))
  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => {
    await storeAnswers()
    return reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })
  await app.register(discoveryRoute)

  const now = options.now ?? (() => new Date())
  // One throttle and one queue for every secret a caller presents: client secrets and passwords alike.
  const throttle = createGuessingThrottle(() => now().getTime())
  const secretChecks = createSecretCheckQueue()
  const codes = createAuthorizationCodes({ issuer: options.issuer, signingKeys: options.signingKeys, now })
  if (users) {
    const byId = new Map(options.clients.map((client) => [client.client_id, client]))
    await app.register(async (people) => {
      people.removeAllContentTypeParsers()
      await people.register(authorizeRoute, { clients: byId, users, codes, clientAddress, throttle, secretChecks, bodyLimit: OAUTH_BODY_LIMIT_BYTES })
    })
  }

  await app.register(async (oauth) => {
    // Form bodies only (RFC 6749 §3.2): JSON and everything else is an invalid_request.
    oauth.removeAllContentTypeParsers()
    await oauth.register(formbody, { bodyLimit: OAUTH_BODY_LIMIT_BYTES })
    await oauth.register(oauthErrorHandler)
    await oauth.register(clientAuthentication, { clients, clientAddress, throttle, secretChecks })
    await oauth.register(tokenRoute, { codes, redeemedCodes: options.people?.redeemedCodes })
    await oauth.register(introspectionRoute)
    await oauth.register(revocationRoute)
  })
  return app
}
