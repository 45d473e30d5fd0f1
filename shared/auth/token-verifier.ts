import { createPublicKey, type JsonWebKeyInput } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { TokenError, type Algorithm } from 'fast-jwt'
import fp from 'fastify-plugin'
import { ConfigError, type Config } from '../config.ts'
import { InvalidTokenError } from '../errors.ts'
import { bearerToken as bearerTokenOf } from './bearer.ts'
import { keyRefusals, localKeySet, remoteKeySet, type Jwk, type KeySource } from './key-set.ts'

/** What the API trusts about a caller, after the token checked out. */
export interface AccessToken {
  issuer: string
  subject: string
  /** A person's display name (the `name` claim), absent for a client's own token. */
  name?: string
  clientId: string
  tenant: string
  scopes: ReadonlySet<string>
  tokenId: string
  expiresAt: number
}

export interface TokenVerifierOptions {
  issuer: string
  audience: string
  keys: KeySource
  clockToleranceSeconds: number
  /** The longest lifetime (`exp − iat`) accepted, even with a genuine signature (default 3600 s). */
  maxLifetimeSeconds?: number
  /** Verified tokens remembered (until they expire) so a hot path skips the signature check. */
  cacheSize?: number
}

/**
 * Token verification as a Fastify plugin: @fastify/jwt with fast-jwt's verifier and the issuer's
 * keys, decorating every request with `verifyAccessToken()`. The functions' auth plugin and the
 * local gateway both register it, so both check a token the same way.
 */
export type TokenVerifier = FastifyPluginAsync

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's bearer token, verified; an InvalidTokenError (401) when there is none we accept. */
    verifyAccessToken (): Promise<AccessToken>
  }
}

/** Asymmetric algorithms only: an HS256 token signed with a public key can never verify. */
export const ALLOWED_ALGORITHMS: Algorithm[] = ['ES256', 'RS256']
const ALLOWED = new Set<string>(ALLOWED_ALGORITHMS)
/** What a tenant name may look like (claims and the authorization server's client registry alike). */
export const TENANT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
const TENANT = new RegExp(TENANT_PATTERN)
/** RFC 9068 §2.2 claims, and the ones the API relies on. */
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'tenant']
/** The longest display name taken from a token; a longer one is left out. */
const MAX_NAME_LENGTH = 200
/** Access tokens live at most an hour; a longer-lived one is refused even with a genuine signature. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 3600

const refusals = {
  ...keyRefusals,
  algorithm: 'The access token\'s signing algorithm is not accepted',
  keysUnavailable: 'The issuer\'s keys could not be loaded; retry later',
  malformed: 'The access token is malformed',
  notYetValid: 'The access token is not valid yet'
}

/** Reads `Authorization: Bearer <token>`; any other form is a 401 saying what is expected. */
function bearerToken (request: FastifyRequest): string {
  const header = request.headers.authorization
  if (!header) throw new InvalidTokenError('This request needs an access token (Authorization: Bearer <token>)')
  const token = bearerTokenOf(header)
  if (!token) throw new InvalidTokenError('The Authorization header must use the Bearer scheme')
  return token
}

/**
 * Verifies RFC 9068 access tokens: signature by a key of the issuer's JWKS, `typ: at+jwt`,
 * allowed algorithm, exact issuer, our audience, time claims with bounded skew, a lifetime of at
 * most `maxLifetimeSeconds`, and the claims the API relies on.
 */
export function createTokenVerifier (options: TokenVerifierOptions): TokenVerifier {
  const maxLifetime = options.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS
  if (!options.issuer || !options.audience) throw new Error('token verifier: issuer and audience are required')
  if (typeof options.keys !== 'function') throw new Error('token verifier: keys (a KeySource) is required')
  if (!Number.isInteger(maxLifetime) || maxLifetime < 1) throw new Error('token verifier: maxLifetimeSeconds must be a positive integer')
  if (!(options.clockToleranceSeconds >= 0)) throw new Error('token verifier: clockToleranceSeconds must be 0 or more')
  const toleranceMs = options.clockToleranceSeconds * 1000
  const accessTokens = new WeakMap<object, AccessToken>()

  async function issuerKey (_request: FastifyRequest, decoded: unknown): Promise<string> {
    const { alg, kid } = (decoded as { header: { alg?: unknown, kid?: unknown } }).header
    if (typeof alg !== 'string' || !ALLOWED.has(alg)) throw new InvalidTokenError(refusals.algorithm)
    if (typeof kid !== 'string' || kid === '') throw new InvalidTokenError(refusals.unknownKey)
    let jwk: Jwk
    try {
      jwk = await options.keys(kid, alg)
    } catch (error) {
      throw error instanceof InvalidTokenError ? error : new InvalidTokenError(refusals.keysUnavailable)
    }
    return publicKeyPem(jwk, alg)
  }

  /** What fast-jwt does not check: `iat` in the future, the lifetime, the claims' shapes. */
  async function checkClaims (_request: FastifyRequest, payload: Record<string, unknown>): Promise<boolean> {
    const { iat, exp, tenant, sub, client_id: clientId, scope, jti } = payload
    if (typeof iat !== 'number' || typeof exp !== 'number') throw new InvalidTokenError('The access token\'s claims have the wrong types')
    if (iat * 1000 > Date.now() + toleranceMs) throw new InvalidTokenError(refusals.notYetValid)
    if (exp - iat > maxLifetime) throw new InvalidTokenError(`The access token's lifetime (exp - iat) exceeds ${maxLifetime} s`)
    if (typeof tenant !== 'string' || !TENANT.test(tenant)) throw new InvalidTokenError('The access token has no valid tenant claim')
    if (typeof sub !== 'string' || typeof clientId !== 'string' || typeof scope !== 'string' || typeof jti !== 'string') {
      throw new InvalidTokenError('The access token\'s claims have the wrong types')
    }
    return true
  }

  /** Runs after checkClaims; fast-jwt's cache hands back the same payload, so the mapping is remembered. */
  function accessTokenOf (payload: Record<string, unknown>): AccessToken {
    let token = accessTokens.get(payload)
    if (!token) {
      token = {
        issuer: options.issuer,
        subject: payload.sub as string,
        ...(typeof payload.name === 'string' && payload.name.length <= MAX_NAME_LENGTH ? { name: payload.name } : {}),
        clientId: payload.client_id as string,
        tenant: payload.tenant as string,
        scopes: new Set((payload.scope as string).split(' ').filter(Boolean)),
        tokenId: payload.jti as string,
        expiresAt: payload.exp as number
      }
      accessTokens.set(payload, token)
    }
    return token
  }

  const plugin: FastifyPluginAsync = async (app) => {
    await app.register(fastifyJwt, {
      // The header (kid, alg) chooses among the issuer's keys; it never supplies one.
      decode: { complete: true },
      secret: issuerKey,
      verify: {
        extractToken: bearerToken,
        algorithms: ALLOWED_ALGORITHMS,
        allowedIss: options.issuer,
        allowedAud: options.audience,
        checkTyp: 'at+jwt',
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance: toleranceMs,
        // Seconds (@fastify/jwt converts): no token that passes the lifetime rule is older than this.
        maxAge: maxLifetime + options.clockToleranceSeconds,
        cache: options.cacheSize ?? 1000
      },
      // fast-jwt's own wording, mapped to ours by describeFailure.
      messages: { authorizationTokenInvalid: (error: Error) => error.message },
      trusted: checkClaims,
      formatUser: (payload) => accessTokenOf(payload as Record<string, unknown>) as never,
      decoratorName: 'verifiedAccessToken'
    })
    app.decorateRequest('verifyAccessToken', async function verifyAccessToken (this: FastifyRequest) {
      try {
        return await this.jwtVerify<AccessToken>()
      } catch (error) {
        throw error instanceof InvalidTokenError ? error : new InvalidTokenError(describeFailure(error as Error & { code?: string }))
      }
    })
  }
  return fp(plugin, { name: 'security-records-token-verifier', fastify: '5.x' })
}

/** The verifier every record function and the local gateway use, from the settings. */
export function configuredTokenVerifier (config: Pick<Config, 'AUTH_ISSUER' | 'AUTH_AUDIENCE' | 'AUTH_JWKS_URL' | 'AUTH_JWKS_JSON' | 'AUTH_CLOCK_SKEW_SECONDS' | 'AUTH_MAX_TOKEN_LIFETIME_SECONDS'>): TokenVerifier {
  return createTokenVerifier({
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    keys: config.AUTH_JWKS_JSON === undefined ? remoteKeySet(config.AUTH_JWKS_URL) : localKeySet(inlineKeySet(config.AUTH_JWKS_JSON)),
    clockToleranceSeconds: config.AUTH_CLOCK_SKEW_SECONDS,
    maxLifetimeSeconds: config.AUTH_MAX_TOKEN_LIFETIME_SECONDS
  })
}

/** AUTH_JWKS_JSON as a key set, or a start-up error naming the setting. */
function inlineKeySet (json: string): { keys: Jwk[] } {
  let keys: unknown
  try {
    keys = (JSON.parse(json) as { keys?: unknown } | null)?.keys
  } catch {}
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))) {
    throw new ConfigError('AUTH_JWKS_JSON: not a JWK set (a JSON object whose "keys" holds at least one key)')
  }
  return { keys: keys as Jwk[] }
}

const publicKeys = new WeakMap<Jwk, string>()

/** The JWK as PEM (what @fastify/jwt caches its verifiers by), if its type fits the token's `alg`. */
function publicKeyPem (jwk: Jwk, alg: string): string {
  const fits = alg === 'ES256' ? jwk.kty === 'EC' && jwk.crv === 'P-256' : jwk.kty === 'RSA'
  if (!fits) throw new InvalidTokenError(refusals.algorithm)
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new InvalidTokenError(refusals.unknownKey)
  let pem = publicKeys.get(jwk)
  if (pem === undefined) {
    try {
      pem = createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string
    } catch {
      throw new InvalidTokenError(refusals.keysUnavailable)
    }
    publicKeys.set(jwk, pem)
  }
  return pem
}

/** A reason a client can act on, and nothing an attacker can use to probe the keys. */
function describeFailure (error: Error & { code?: string }): string {
  switch (error.code) {
    case 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED': return 'The access token expired'
    case TokenError.codes.inactive: return refusals.notYetValid
    case TokenError.codes.invalidType: return 'The token is not an access token (typ must be at+jwt)'
    case TokenError.codes.invalidAlgorithm: return refusals.algorithm
  }
  if (error.message === 'The token signature is invalid.') return 'The access token\'s signature is invalid'
  // fast-jwt names the claim: "The iss claim value is not allowed.", "None of aud claim values are allowed.", "The jti claim is required."
  const claim = /^(?:The|None of) ([a-z_]+) claim\b/.exec(error.message)?.[1]
  if (claim) return `The access token's ${claim} claim is not accepted`
  return refusals.malformed
}
