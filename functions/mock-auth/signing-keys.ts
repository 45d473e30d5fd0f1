import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  calculateJwkThumbprint, CompactSign, compactVerify, createLocalJWKSet, exportJWK, generateKeyPair, importJWK,
  type JWK, type JWTVerifyGetKey
} from 'jose'
import { Type, type Static } from 'typebox'
import { ConfigError } from '../../shared/config.ts'
import { checkDocument } from './settings-document.ts'

const Kid = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._~-]+$' })
const Base64Url = Type.String({ minLength: 1, maxLength: 2048, pattern: '^[A-Za-z0-9_-]+$' })
const use = Type.Optional(Type.Literal('sig'))

const EcSigningKey = Type.Object({
  kty: Type.Literal('EC'), crv: Type.Literal('P-256'), alg: Type.Optional(Type.Literal('ES256')), kid: Type.Optional(Kid), use,
  x: Base64Url, y: Base64Url, d: Base64Url
})
const RsaSigningKey = Type.Object({
  kty: Type.Literal('RSA'), alg: Type.Optional(Type.Literal('RS256')), kid: Type.Optional(Kid), use,
  n: Base64Url, e: Base64Url, d: Base64Url, p: Base64Url, q: Base64Url, dp: Base64Url, dq: Base64Url, qi: Base64Url
})

/**
 * The private signing keys (a JWK set, mounted from a Secret). Every key's public half is
 * published; the LAST key signs. Rotate by appending a new key, and drop the old one once the
 * tokens it signed have expired (the longest lifetime, 3600 s, plus verifiers' JWKS cache).
 * A key without `kid` gets its RFC 7638 thumbprint.
 */
export const SigningKeySetDocument = Type.Object({
  keys: Type.Array(Type.Union([EcSigningKey, RsaSigningKey]), { minItems: 1, maxItems: 10 })
})
export type SigningKeySetDocument = Static<typeof SigningKeySetDocument>
type PrivateSigningKey = SigningKeySetDocument['keys'][number]

export type SigningAlgorithm = 'ES256' | 'RS256'
/** A published key: public members only, always with `kid`, `alg` and `use`. */
export type PublicJwk = JWK & { kty: string, kid: string, alg: SigningAlgorithm, use: 'sig' }

export interface SigningKeys {
  /** The key that signs new tokens: the last of the set. */
  signer: { kid: string, alg: SigningAlgorithm, privateKey: CryptoKey }
  /** Every key's public half, as the JWKS endpoint publishes it. */
  jwks: { keys: PublicJwk[] }
  /** Resolves a verification key from a token header's `kid`, among the published keys only. */
  keySet: JWTVerifyGetKey
}

export const SIGNING_KEYS_FILE_NAME = 'signing-keys.json'
const MIN_RSA_BITS = 2048

function publicMembers (key: PrivateSigningKey): JWK & { kty: string } {
  return key.kty === 'EC' ? { kty: key.kty, crv: key.crv, x: key.x, y: key.y } : { kty: key.kty, n: key.n, e: key.e }
}

/** Imports and checks a private JWK set; fails with the offending key's position, never its content. */
export async function loadSigningKeys (document: unknown, origin = 'signing keys'): Promise<SigningKeys> {
  // Name an unsupported key type plainly, before the schema lists every member of every type it lacks.
  const candidates = (document as { keys?: unknown } | null)?.keys
  if (Array.isArray(candidates)) {
    candidates.forEach((key: { kty?: unknown, crv?: unknown } | null, index) => {
      if (!(key?.kty === 'EC' && key.crv === 'P-256') && key?.kty !== 'RSA') throw new ConfigError(`${origin}: /keys/${index} must be an EC P-256 (ES256) or RSA (RS256) private JWK`)
    })
  }
  checkDocument(SigningKeySetDocument, document, origin)
  const published: PublicJwk[] = []
  let signer: SigningKeys['signer'] | undefined
  for (const [index, key] of (document as SigningKeySetDocument).keys.entries()) {
    const where = `${origin}: /keys/${index}`
    const alg: SigningAlgorithm = key.kty === 'EC' ? 'ES256' : 'RS256'
    const publicJwk = publicMembers(key)
    const kid = key.kid ?? await calculateJwkThumbprint(publicJwk)
    if (published.some((other) => other.kid === kid)) throw new ConfigError(`${where} repeats the kid ${kid}`)
    const privateJwk: JWK = key.kty === 'EC'
      ? { ...publicJwk, d: key.d }
      : { ...publicJwk, d: key.d, p: key.p, q: key.q, dp: key.dp, dq: key.dq, qi: key.qi }
    let privateKey: CryptoKey
    try {
      privateKey = await importJWK(privateJwk, alg) as CryptoKey
      const publicKey = await importJWK(publicJwk, alg) as CryptoKey
      if (alg === 'RS256' && ((publicKey.algorithm as { modulusLength?: number }).modulusLength ?? 0) < MIN_RSA_BITS) {
        throw new ConfigError(`${where} is an RSA key shorter than ${MIN_RSA_BITS} bits`)
      }
      // A key whose private half does not belong to its public half would sign tokens nobody can verify.
      const probe = await new CompactSign(new TextEncoder().encode('probe')).setProtectedHeader({ alg }).sign(privateKey)
      await compactVerify(probe, publicKey)
    } catch (error) {
      if (error instanceof ConfigError) throw error
      throw new ConfigError(`${where} is not a usable ${alg} key pair`)
    }
    published.push({ ...publicJwk, kid, alg, use: 'sig' })
    signer = { kid, alg, privateKey }
  }
  const jwks = { keys: published }
  return { signer: signer!, jwks, keySet: createLocalJWKSet(jwks) }
}

/** A fresh ES256 private JWK, its kid the RFC 7638 thumbprint. */
export async function generateSigningKey (): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const { kty, crv, x, y, d } = await exportJWK(privateKey)
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK)
  return { kty, crv, x, y, d, kid, alg: 'ES256', use: 'sig' }
}

/**
 * The local stack's keys: `<dataDir>/signing-keys.json`, created (mode 0600) with one ES256 key
 * on first start, so tokens stay valid across restarts. `:memory:` keeps the key in memory only.
 */
export async function loadOrCreateSigningKeys (dataDir: string): Promise<SigningKeys> {
  if (dataDir === ':memory:') return loadSigningKeys({ keys: [await generateSigningKey()] })
  const file = join(dataDir, SIGNING_KEYS_FILE_NAME)
  const existing = await readKeyFile(file)
  if (existing !== undefined) return loadSigningKeys(existing, file)
  await mkdir(dataDir, { recursive: true })
  const document = { keys: [await generateSigningKey()] }
  try {
    // `wx`: two processes starting at once must not overwrite each other's key.
    await writeFile(file, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return loadSigningKeys(await readKeyFile(file), file)
  }
  return loadSigningKeys(document, file)
}

async function readKeyFile (file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new ConfigError(`${file}: not valid JSON; delete it to get a new signing key`)
  }
}
