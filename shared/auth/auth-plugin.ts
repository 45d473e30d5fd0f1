import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { insufficientScope, InvalidTokenError } from '../errors.ts'
import type { AccessToken, TokenVerifier } from './token-verifier.ts'

export const scopes = {
  read: 'records:read',
  write: 'records:write',
  delete: 'records:delete'
} as const
export type Scope = typeof scopes[keyof typeof scopes]

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are public (health). */
    scope?: Scope
  }
  interface FastifyRequest {
    /** The verified token of a route that declares a scope; null on public routes. */
    accessToken: AccessToken | null
  }
}

export interface AuthPluginOptions {
  /** The token verifier plugin (createTokenVerifier); registered here. */
  verifyToken: TokenVerifier
  /** Denylist check (revoked `jti`s); omitted only where no revocation exists. */
  isRevoked?: (issuer: string, tokenId: string) => Promise<boolean>
}

/**
 * Authentication inside every function (defense in depth behind the ingress): every route that
 * declares a scope gets a verified RFC 9068 token with that scope, before its body is parsed.
 */
const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app, options) => {
  if (typeof options.verifyToken !== 'function') throw new Error('auth plugin: verifyToken is required')
  await app.register(options.verifyToken)
  app.decorateRequest('accessToken', null)

  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope
    if (scope === undefined) return
    const token = await request.verifyAccessToken()
    if (options.isRevoked && await options.isRevoked(token.issuer, token.tokenId)) {
      throw new InvalidTokenError('The access token has been revoked')
    }
    if (!token.scopes.has(scope)) throw insufficientScope(scope)
    request.accessToken = token
  })
}

export default fp(authPlugin, { name: 'security-records-auth', fastify: '5.x' })
