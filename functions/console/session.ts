import { EncryptJWT, jwtDecrypt } from 'jose'

/** What the console remembers of a signed-in person, inside the encrypted cookie only. */
export interface Session {
  accessToken: string
  /** When the access token expires (epoch seconds). */
  expiresAt: number
  sub: string
  name: string
  tenant: string
  scopes: string[]
}

/** A sign-in under way: what the callback checks the authorization response against. */
export interface SignInTransaction {
  state: string
  verifier: string
  returnTo: string
}

const PURPOSES = { session: 'console-session', signIn: 'console-sign-in' } as const
type Purpose = keyof typeof PURPOSES

/**
 * Seals values into cookies as JWE (`dir`, A256GCM): secret and tamper-proof, nothing kept on the
 * server (the console scales to zero). Each kind of cookie names its purpose, so one can never be
 * passed off as the other.
 */
export function createCookieSealer (key: Uint8Array, now: () => Date = () => new Date()) {
  if (key.length !== 32) throw new Error('the cookie key must be 32 bytes')
  return {
    async seal (purpose: Purpose, value: Session | SignInTransaction, expiresAt: number): Promise<string> {
      return new EncryptJWT({ value: value as unknown as Record<string, unknown> })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setAudience(PURPOSES[purpose])
        .setIssuedAt(Math.floor(now().getTime() / 1000))
        .setExpirationTime(expiresAt)
        .encrypt(key)
    },

    /** The sealed value, or undefined when the cookie is missing, altered, expired or of another purpose. */
    async open<T> (purpose: Purpose, sealed: string | undefined): Promise<T | undefined> {
      if (!sealed || sealed.length > 8192) return undefined
      try {
        const { payload } = await jwtDecrypt(sealed, key, { audience: PURPOSES[purpose], currentDate: now(), keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })
        return payload.value as T
      } catch {
        return undefined
      }
    }
  }
}

export type CookieSealer = ReturnType<typeof createCookieSealer>
