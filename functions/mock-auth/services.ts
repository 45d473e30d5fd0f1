import fp from 'fastify-plugin'
import type { RevokedTokens } from '../../shared/store/revoked-tokens.ts'
import { createAccessTokenService, type AccessTokenService } from './access-tokens.ts'
import type { SigningKeys } from './signing-keys.ts'

/** What the OAuth endpoints share: who we are, our keys and tokens, and the denylist. */
export interface AuthorizationServer {
  issuer: string
  /** Whether people sign in here (the authorization endpoint and the code grant exist). */
  signsInPeople: boolean
  /** `aud` of a token when the client names no resource. */
  defaultAudience: string
  signingKeys: SigningKeys
  tokens: AccessTokenService
  revocations: Pick<RevokedTokens, 'revoke' | 'isRevoked'>
}

declare module 'fastify' {
  interface FastifyInstance {
    authorizationServer: AuthorizationServer
  }
}

export interface AuthorizationServerOptions {
  issuer: string
  signsInPeople: boolean
  defaultAudience: string
  signingKeys: SigningKeys
  revocations: AuthorizationServer['revocations']
  now?: () => Date
}

export default fp<AuthorizationServerOptions>(async (app, options) => {
  app.decorate('authorizationServer', {
    issuer: options.issuer,
    signsInPeople: options.signsInPeople,
    defaultAudience: options.defaultAudience,
    signingKeys: options.signingKeys,
    tokens: createAccessTokenService({ issuer: options.issuer, signingKeys: options.signingKeys, ...(options.now ? { now: options.now } : {}) }),
    revocations: options.revocations
  })
}, { name: 'mock-auth-services', fastify: '5.x' })
