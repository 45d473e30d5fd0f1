import { randomUUID } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import { ALLOWED_ALGORITHMS } from '../../shared/auth/token-verifier.ts'
import { tokenLifetimeSeconds, type RegisteredClient } from './clients.ts'
import type { SigningKeys } from './signing-keys.ts'

/** The claims of an RFC 9068 access token. */
export interface AccessTokenClaims {
  iss: string
  /** The person who signed in (authorization code), or the client itself (client credentials). */
  sub: string
  /** The person's display name; absent from a client's tokens. */
  name?: string
  aud: string
  client_id: string
  scope: string
  tenant: string
  iat: number
  exp: number
  jti: string
}

export interface AccessTokenServiceOptions {
  issuer: string
  signingKeys: SigningKeys
  now?: () => Date
}

/** The person a token is issued for through the authorization code grant. */
export interface TokenPerson {
  username: string
  name: string
  tenant: string
  tokenId: string
}

const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'tenant']
const STRING_CLAIMS = ['sub', 'aud', 'client_id', 'scope', 'tenant', 'jti'] as const

/** Issues access tokens with the newest signing key, and reads back tokens signed by any published key. */
export function createAccessTokenService ({ issuer, signingKeys, now = () => new Date() }: AccessTokenServiceOptions) {
  return {
    /**
     * A token for the client itself, or, with `person`, for the person who signed in through it:
     * then `sub`, `name` and `tenant` are the person's, and `jti` the id of the code it was
     * exchanged for (so a replayed code can revoke it).
     */
    async issue (client: RegisteredClient, scopes: readonly string[], audience: string, person?: TokenPerson): Promise<{ token: string, claims: AccessTokenClaims }> {
      const iat = Math.floor(now().getTime() / 1000)
      const claims: AccessTokenClaims = {
        iss: issuer,
        sub: person?.username ?? client.client_id,
        ...(person ? { name: person.name } : {}),
        aud: audience,
        client_id: client.client_id,
        scope: scopes.join(' '),
        tenant: person?.tenant ?? client.tenant,
        iat,
        exp: iat + tokenLifetimeSeconds(client),
        jti: person?.tokenId ?? randomUUID()
      }
      const { signer } = signingKeys
      const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: signer.alg, typ: 'at+jwt', kid: signer.kid }).sign(signer.privateKey)
      return { token, claims }
    },

    /** The claims of a token this server issued and that has not expired; undefined for anything else. */
    async inspect (token: string): Promise<AccessTokenClaims | undefined> {
      try {
        const { payload } = await jwtVerify(token, signingKeys.keySet, {
          issuer,
          algorithms: ALLOWED_ALGORITHMS,
          typ: 'at+jwt',
          requiredClaims: REQUIRED_CLAIMS,
          currentDate: now()
        })
        if (STRING_CLAIMS.some((claim) => typeof payload[claim] !== 'string')) return undefined
        return payload as unknown as AccessTokenClaims
      } catch {
        return undefined
      }
    }
  }
}

export type AccessTokenService = ReturnType<typeof createAccessTokenService>
