import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * Client secrets are stored as self-describing scrypt hashes, `scrypt$N$r$p$salt$hash` (salt and
 * hash base64url), so the cost can rise later without invalidating the hashes already issued.
 */
export interface SecretHash {
  cost: { N: number, r: number, p: number }
  salt: Buffer
  hash: Buffer
}

/**
 * Secrets are long random strings, not passwords a person chose: a moderate cost is enough, and
 * it keeps a token request at a few tens of milliseconds.
 */
export const DEFAULT_COST = { N: 16_384, r: 8, p: 1 } as const
const SALT_BYTES = 16
const HASH_BYTES = 32
/** Bounds on what a registry may ask for: the cost is paid on every token request. */
const LIMITS = { maxN: 1_048_576, maxR: 32, maxP: 16, minSaltBytes: 16, minHashBytes: 16, maxHashBytes: 64 }
const FORMAT = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/

function derive (secret: string, salt: Buffer, length: number, { N, r, p }: SecretHash['cost']): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; the default ceiling (32 MiB) would refuse the larger allowed costs.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1_048_576 }
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, length, options, (error, key) => error ? reject(error) : resolve(key))
  })
}

export async function hashClientSecret (secret: string, cost: SecretHash['cost'] = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await derive(secret, salt, HASH_BYTES, cost)
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`
}

/** Reads a stored hash; a reason instead of a hash when it is malformed or its cost is out of bounds. */
export function parseSecretHash (text: string): SecretHash | { problem: string } {
  const match = FORMAT.exec(text)
  if (!match) return { problem: 'must look like scrypt$N$r$p$salt$hash (see scripts/hash-client-secret.ts)' }
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const salt = Buffer.from(match[4]!, 'base64url')
  const hash = Buffer.from(match[5]!, 'base64url')
  if (N < 2 || N > LIMITS.maxN || (N & (N - 1)) !== 0) return { problem: `N must be a power of two up to ${LIMITS.maxN}` }
  if (r < 1 || r > LIMITS.maxR) return { problem: `r must be between 1 and ${LIMITS.maxR}` }
  if (p < 1 || p > LIMITS.maxP) return { problem: `p must be between 1 and ${LIMITS.maxP}` }
  if (salt.length < LIMITS.minSaltBytes) return { problem: `the salt must have at least ${LIMITS.minSaltBytes} bytes` }
  if (hash.length < LIMITS.minHashBytes || hash.length > LIMITS.maxHashBytes) return { problem: `the hash must have ${LIMITS.minHashBytes} to ${LIMITS.maxHashBytes} bytes` }
  return { cost: { N, r, p }, salt, hash }
}

/** Compares in constant time: how much of the secret was right never shows in the response time. */
export async function verifyClientSecret (secret: string, stored: SecretHash): Promise<boolean> {
  const derived = await derive(secret, stored.salt, stored.hash.length, stored.cost)
  return timingSafeEqual(derived, stored.hash)
}

/** A hash no secret matches, checked for unknown client ids so they cost as much time as known ones. */
export function decoySecretHash (cost: SecretHash['cost'] = DEFAULT_COST): SecretHash {
  return { cost, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) }
}
