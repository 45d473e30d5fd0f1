import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import { ALLOWED_ALGORITHMS } from '../../shared/auth/token-verifier.ts'
import type { SigningKeys } from './signing-keys.ts'

/** RFC 9700 §4.2.1 asks for short-lived codes: a person's browser follows the redirect at once. */
export const CODE_LIFETIME_SECONDS = 60
/** The JWT type of a code: never an access token (`at+jwt`), so neither can pass for the other. */
const CODE_TYPE = 'oauth-authz-code+jwt'
/** RFC 7636 §4.1: 43 to 128 characters of the unreserved set. */
export const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/
/** RFC 7636 §4.2: BASE64URL(SHA-256(verifier)), 32 bytes, 43 characters without padding. */
export const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/

/** What a code stands for: who signed in, through which client, to be sent where, and the PKCE challenge. */
export interface AuthorizationGrant {
  clientId: string
  redirectUri: string
  codeChallenge: string
  user: { username: string, name: string, tenant: string }
  scopes: string[]
}

export interface RedeemableCode extends AuthorizationGrant {
  /** The code's id: redeemed once, and the `jti` of the token it is exchanged for. */
  id: string
  expiresAt: number
}

/**
 * Authorization codes as short JWTs signed by the issuer's key: the code carries everything the
 * token endpoint checks (client, redirect URI, challenge), and the store only remembers which
 * codes were already redeemed. The code's audience is the client, so the records API never
 * accepts one (nor its type).
 */
export function createAuthorizationCodes ({ issuer, signingKeys, now = () => new Date() }: { issuer: string, signingKeys: SigningKeys, now?: () => Date }) {
  return {
    async issue (grant: AuthorizationGrant): Promise<string> {
      const iat = Math.floor(now().getTime() / 1000)
      const { signer } = signingKeys
      return new SignJWT({
        sub: grant.user.username,
        name: grant.user.name,
        tenant: grant.user.tenant,
        scope: grant.scopes.join(' '),
        redirect_uri: grant.redirectUri,
        code_challenge: grant.codeChallenge
      })
        .setProtectedHeader({ alg: signer.alg, typ: CODE_TYPE, kid: signer.kid })
        .setIssuer(issuer).setAudience(grant.clientId).setIssuedAt(iat).setExpirationTime(iat + CODE_LIFETIME_SECONDS).setJti(randomUUID())
        .sign(signer.privateKey)
    },

    /** The grant behind a genuine, unexpired code of this issuer; undefined for anything else. */
    async read (code: string): Promise<RedeemableCode | undefined> {
      try {
        const { payload } = await jwtVerify(code, signingKeys.keySet, {
          issuer,
          algorithms: ALLOWED_ALGORITHMS,
          typ: CODE_TYPE,
          requiredClaims: ['aud', 'sub', 'exp', 'jti'],
          currentDate: now(),
          maxTokenAge: CODE_LIFETIME_SECONDS
        })
        const text = (name: string) => typeof payload[name] === 'string' ? payload[name] as string : undefined
        const [name, tenant, scope, redirectUri, codeChallenge] = ['name', 'tenant', 'scope', 'redirect_uri', 'code_challenge'].map(text)
        if (typeof payload.aud !== 'string' || !name || !tenant || scope === undefined || !redirectUri || !codeChallenge) return undefined
        return {
          id: payload.jti!,
          expiresAt: payload.exp!,
          clientId: payload.aud,
          redirectUri,
          codeChallenge,
          user: { username: payload.sub!, name, tenant },
          scopes: scope.split(' ').filter(Boolean)
        }
      } catch {
        return undefined
      }
    }
  }
}

export type AuthorizationCodes = ReturnType<typeof createAuthorizationCodes>

/** RFC 7636 §4.6 with S256, compared in constant time. */
export function verifierMatches (verifier: string, challenge: string): boolean {
  if (!CODE_VERIFIER.test(verifier)) return false
  const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'))
  const expected = Buffer.from(challenge)
  return computed.length === expected.length && timingSafeEqual(computed, expected)
}
