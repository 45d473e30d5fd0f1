import { readFile } from 'node:fs/promises'
import { InvalidTokenError } from '../errors.ts'
import { send } from '../outbound.ts'

/** A public key of the issuer's JWKS (RFC 7517). */
export interface Jwk {
  kty?: string
  kid?: string
  alg?: string
  use?: string
  [member: string]: unknown
}

/**
 * Finds the issuer's key for a token header's `kid` and `alg`: from the configured JWKS only,
 * never from a key or URL the token names (`jku`, `x5u`, `jwk`).
 */
export type KeySource = (kid: string, alg: string) => Promise<Jwk>

/** Refusals of a key lookup, worded for any bearer token. */
export const keyRefusals = {
  unknownKey: 'The access token was signed by an unknown key'
}

/** A key set held in memory (tests, benchmarks), matched as remoteKeySet matches: `kid`, then `alg` if the key names one. */
export function localKeySet (jwks: { keys: Jwk[] }): KeySource {
  return async (kid, alg) => {
    const key = jwks.keys.find((candidate) => candidate.kid === kid && (candidate.alg === undefined || candidate.alg === alg))
    if (!key) throw new InvalidTokenError(keyRefusals.unknownKey)
    return key
  }
}

export interface RemoteKeySetOptions {
  /** How long a fetched key set is used before the JWKS is asked again. */
  cacheMaxAgeMs?: number
  /** After a JWKS fetch that lacked a `kid`, other unknown `kid`s are refused this long without a fetch. */
  cooldownMs?: number
  /** A JWKS fetch slower than this fails the token (401, retry later). */
  timeoutMs?: number
  /** A larger JWKS answer fails the token (401, retry later): a key set is a few KB. */
  maxBytes?: number
  /** The CA certificates (PEM file) that the JWKS endpoint's certificate must chain to, in place of Node's. */
  caFile?: string
  /**
   * A bearer token (file) to present to the JWKS endpoint: a Kubernetes API server serves its
   * service-account keys to authenticated callers. Read at each fetch, so a rotated token is used.
   */
  tokenFile?: string
}

interface FetchedKeys { keys: Jwk[], fetchedAt: number }

/**
 * The issuer's JWKS at the configured URL (never one named by a token), fetched with node:http(s)
 * (shared/outbound.ts: no redirects, a size cap, one deadline), a key matched by `kid`, then
 * by `alg` if the key names one. The set is cached `cacheMaxAgeMs`; a
 * `kid` not in it (rotation) fetches it again. Fetches go one at a time and, after a miss, unknown
 * `kid`s are refused for `cooldownMs` without one: a flood of made-up `kid`s costs the issuer one
 * request, not one each. When a refresh fails, the previous set keeps serving for one more
 * `cacheMaxAgeMs` (an issuer outage does not lock out every caller).
 */
export function remoteKeySet (jwksUrl: string, { cacheMaxAgeMs = 600_000, cooldownMs = 30_000, timeoutMs = 3000, maxBytes = 256 * 1024, caFile, tokenFile }: RemoteKeySetOptions = {}): KeySource {
  const url = new URL(jwksUrl)
  let fetched: FetchedKeys | undefined
  let missedAt = -Infinity
  let lookups: Promise<unknown> = Promise.resolve()
  const fresh = () => fetched !== undefined && Date.now() - fetched.fetchedAt < cacheMaxAgeMs ? fetched : undefined
  const find = (set: FetchedKeys, kid: string, alg: string) => set.keys.find((key) => key.kid === kid && (key.alg === undefined || key.alg === alg))

  async function refreshed (): Promise<FetchedKeys> {
    try {
      fetched = { keys: await fetchKeySet(url, { timeoutMs, maxBytes, caFile, tokenFile }), fetchedAt: Date.now() }
      return fetched
    } catch (error) {
      // An expired set stands in while the issuer is down; a fresh one that lacked a kid does not
      // (the kid may be a new key the failed fetch would have brought: retry later, not "unknown").
      const age = fetched === undefined ? Infinity : Date.now() - fetched.fetchedAt
      if (age >= cacheMaxAgeMs && age < 2 * cacheMaxAgeMs) return fetched!
      throw error
    }
  }
  async function lookUp (kid: string, alg: string): Promise<Jwk> {
    // Another lookup may have fetched the set while this one waited its turn.
    const current = fresh()
    const known = current && find(current, kid, alg)
    if (known) return known
    if (current && Date.now() - missedAt < cooldownMs) throw new InvalidTokenError(keyRefusals.unknownKey)
    const key = find(await refreshed(), kid, alg)
    if (key) return key
    missedAt = Date.now()
    throw new InvalidTokenError(keyRefusals.unknownKey)
  }

  return async (kid, alg) => {
    const current = fresh()
    const known = current && find(current, kid, alg)
    if (known) return known
    const result = lookups.then(() => lookUp(kid, alg))
    lookups = result.catch(() => {})
    return result
  }
}

/** The `keys` of a JWKS (RFC 7517 §5): a 200 with a JSON object holding at least one key, or an error. */
async function fetchKeySet (url: URL, { timeoutMs, maxBytes, caFile, tokenFile }: RemoteKeySetOptions & { timeoutMs: number, maxBytes: number }): Promise<Jwk[]> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (tokenFile !== undefined) headers.authorization = `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}`
  const ca = caFile === undefined ? undefined : await readFile(caFile)
  const response = await send(url, { headers, timeoutMs, maxBytes, ...(ca === undefined ? {} : { ca }) })
  if (response.status !== 200) throw new Error(`the JWKS endpoint answered ${response.status}`)
  const keys = (JSON.parse(response.body.toString('utf8')) as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0) throw new Error('the JWKS holds no keys')
  return keys.filter((key): key is Jwk => typeof key === 'object' && key !== null && !Array.isArray(key))
}
