import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import { bearerToken } from './bearer.ts'
import { remoteKeySet, type KeySource } from './key-set.ts'
import { InvalidTokenError } from '../errors.ts'

/** The settings of a function a Knative Trigger delivers to (ingest-finding, record-metrics). */
export interface DeliverySettings {
  DELIVERY_OIDC_ISSUER?: string
  DELIVERY_OIDC_JWKS_URL?: string
  DELIVERY_OIDC_CA_FILE?: string
  DELIVERY_OIDC_TOKEN_FILE?: string
  DELIVERY_OIDC_AUDIENCE: string
  DELIVERY_OIDC_SUBJECTS: string
  AUTH_CLOCK_SKEW_SECONDS: number
}

/** Proves a request on `POST /` comes from the broker: its Authorization header, or a 401. */
export type DeliveryVerifier = (authorization: string | undefined) => Promise<void>

export interface DeliveryVerifierOptions {
  issuer: string
  audience: string
  /** The `sub`s allowed to deliver: the function's Trigger's OIDC service account. */
  subjects: readonly string[]
  /** The cluster's service-account issuer keys (never a key or URL the token names). */
  keys: KeySource
  clockToleranceSeconds: number
}

/**
 * Knative Eventing sender identity (`authentication-oidc`): the broker sends each delivery with a
 * Kubernetes service account token of the Trigger's OIDC identity, for the subscriber's audience.
 * Any other sender — a pod that reaches the Service past the NetworkPolicy, a replayed token of
 * another audience — gets a 401, so the tenant and producer an event carries are the ones the
 * producer path (`POST /v1/findings`) stamped, and the record events record-metrics counts are the
 * record functions' own.
 */
export function createDeliveryVerifier (options: DeliveryVerifierOptions): DeliveryVerifier {
  const subjects = new Set(options.subjects)
  // The token header's `kid` and `alg` choose among the issuer's keys.
  const keys: JWTVerifyGetKey = async ({ kid, alg }) => await options.keys(kid ?? '', alg)
  return async function verifyDelivery (authorization) {
    const token = authorization === undefined ? undefined : bearerToken(authorization)
    if (!token) throw new InvalidTokenError('Broker deliveries carry the Trigger\'s OIDC token (Authorization: Bearer)')
    let subject: string | undefined
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: options.issuer, audience: options.audience, algorithms: ['RS256', 'ES256'], clockTolerance: options.clockToleranceSeconds, requiredClaims: ['exp', 'sub'] })
      subject = payload.sub
    } catch {
      throw new InvalidTokenError('The delivery token is invalid, expired or for another audience')
    }
    if (subject === undefined || !subjects.has(subject)) throw new InvalidTokenError('Only this function\'s Trigger may deliver here')
  }
}

/** Without sender identity configured, no delivery is trusted. */
export const refuseDeliveries: DeliveryVerifier = async () => {
  throw new InvalidTokenError('Broker deliveries are refused: DELIVERY_OIDC_ISSUER is not configured (docs/deployment.md, events)')
}

/** The verifier the settings ask for. */
export function deliveryVerifierFrom (config: DeliverySettings): DeliveryVerifier {
  if (!config.DELIVERY_OIDC_ISSUER) return refuseDeliveries
  if (!config.DELIVERY_OIDC_JWKS_URL) throw new Error('DELIVERY_OIDC_JWKS_URL is required with DELIVERY_OIDC_ISSUER')
  return createDeliveryVerifier({
    issuer: config.DELIVERY_OIDC_ISSUER,
    audience: config.DELIVERY_OIDC_AUDIENCE,
    subjects: config.DELIVERY_OIDC_SUBJECTS.split(',').map((subject) => subject.trim()).filter(Boolean),
    // Cached, with a cooldown after an unknown `kid` (the same key set as the access tokens').
    keys: remoteKeySet(config.DELIVERY_OIDC_JWKS_URL, {
      timeoutMs: 3000,
      cooldownMs: 30_000,
      cacheMaxAgeMs: 600_000,
      ...(config.DELIVERY_OIDC_CA_FILE === undefined ? {} : { caFile: config.DELIVERY_OIDC_CA_FILE }),
      ...(config.DELIVERY_OIDC_TOKEN_FILE === undefined ? {} : { tokenFile: config.DELIVERY_OIDC_TOKEN_FILE })
    }),
    clockToleranceSeconds: config.AUTH_CLOCK_SKEW_SECONDS
  })
}
