import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { InvalidTokenError } from '../errors.ts'

/** What the API trusts about a caller, after the token checked out. */
export interface AccessToken {
  issuer: string
  subject: string
  clientId: string
  tenant: string
  scopes: ReadonlySet<string>
  tokenId: string
  expiresAt: number
}

export type TokenVerifier = (token: string) => Promise<AccessToken>

export interface TokenVerifierOptions {
  issuer: string
  audience: string
  /** Resolves the verification key from the token header's `kid` (a JWKS). */
  keys: JWTVerifyGetKey
  clockToleranceSeconds: number
  /** Verified tokens remembered (until they expire) so a hot path skips the signature check. */
  cacheSize?: number
}

/** Asymmetric algorithms only: an HS256 token signed with a public key can never verify. */
export const ALLOWED_ALGORITHMS = ['ES256', 'RS256']
/** What a tenant name may look like (claims and the authorization server's client registry alike). */
export const TENANT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
const TENANT = new RegExp(TENANT_PATTERN)
/**
 * jose compares `iat` with the clock only when a maximum age is set: a day is longer than any
 * issuer's token lifetime (`exp` still decides), and rejects tokens issued in the future.
 */
const MAX_TOKEN_AGE_SECONDS = 86_400

/** The issuer's key set, fetched from the configured URL (never one named by a token) and cached. */
export function remoteKeySet (jwksUrl: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: 3000, cooldownDuration: 30_000, cacheMaxAge: 600_000 })
}

/**
 * Verifies an RFC 9068 access token: signature by a key of the issuer's JWKS, `typ: at+jwt`,
 * allowed algorithm, exact issuer, our audience, time claims with bounded skew, and the claims
 * the API relies on. `jku`, `x5u` and embedded keys in the header are never used.
 */
export function createTokenVerifier (options: TokenVerifierOptions): TokenVerifier {
  const cache = new Map<string, AccessToken>()
  const cacheSize = options.cacheSize ?? 1000

  return async function verifyAccessToken (token) {
    const cached = cache.get(token)
    if (cached) {
      if (cached.expiresAt * 1000 + options.clockToleranceSeconds * 1000 > Date.now()) return cached
      cache.delete(token)
    }
    let payload
    try {
      ({ payload } = await jwtVerify(token, options.keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ALLOWED_ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: options.clockToleranceSeconds,
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'tenant']
      }))
    } catch (error) {
      throw new InvalidTokenError(describeFailure(error))
    }
    const { sub, client_id: clientId, tenant, scope, jti, exp } = payload as Record<string, unknown>
    if (typeof tenant !== 'string' || !TENANT.test(tenant)) throw new InvalidTokenError('The access token has no valid tenant claim')
    if (typeof sub !== 'string' || typeof clientId !== 'string' || typeof scope !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') {
      throw new InvalidTokenError('The access token\'s claims have the wrong types')
    }
    const verified: AccessToken = {
      issuer: options.issuer,
      subject: sub,
      clientId,
      tenant,
      scopes: new Set(scope.split(' ').filter(Boolean)),
      tokenId: jti,
      expiresAt: exp
    }
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!)
    cache.set(token, verified)
    return verified
  }
}

/** A reason a client can act on, and nothing an attacker can use to probe the keys. */
function describeFailure (error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The access token expired'
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return 'The access token is not valid yet'
    if (error.claim === 'typ') return 'The token is not an access token (typ must be at+jwt)'
    return `The access token's ${error.claim} claim is not accepted`
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The access token\'s signing algorithm is not accepted'
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The access token was signed by an unknown key'
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The access token\'s signature is invalid'
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return 'The issuer\'s keys could not be loaded; retry later'
  return 'The access token is malformed'
}
