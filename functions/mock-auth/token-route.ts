import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RegisteredClient } from './clients.ts'
import { oauthPaths } from './endpoints.ts'
import { InvalidScopeError, InvalidTargetError, noStore, UnsupportedGrantTypeError } from './oauth-errors.ts'
import { tokenSchema } from './schemas.ts'

/** `POST /oauth2/token`: the client credentials grant (RFC 6749 §4.4). */
const tokenRoute: FastifyPluginAsyncTypebox = async (app) => {
  const { tokens, defaultAudience } = app.authorizationServer
  app.post(oauthPaths.token, { schema: tokenSchema }, async (request, reply) => {
    const { grant_type: grantType, scope, resource } = request.body
    if (grantType !== 'client_credentials') throw new UnsupportedGrantTypeError(grantType)
    const scopes = grantedScopes(request.client, scope)
    const audience = grantedAudience(request.client, resource, defaultAudience)
    const { token, claims } = await tokens.issue(request.client, scopes, audience)
    return noStore(reply).send({ access_token: token, token_type: 'Bearer', expires_in: claims.exp - claims.iat, scope: claims.scope })
  })
}

/** The requested scopes (all the client's when none are asked for), in the client's order. */
function grantedScopes (client: RegisteredClient, requested: string | undefined): string[] {
  const asked = new Set((requested ?? '').split(' ').filter(Boolean))
  if (asked.size === 0) return [...client.scopes]
  const refused = [...asked].filter((scope) => !(client.scopes as string[]).includes(scope))
  if (refused.length > 0) throw new InvalidScopeError(`This client may not request the scope ${refused.join(' ')}; allowed: ${client.scopes.join(' ')}`)
  return client.scopes.filter((scope) => asked.has(scope))
}

/**
 * RFC 8707: the token's audience is the resource asked for, which must be one the client may
 * reach; without one, the records API when the client may reach it, else its first audience.
 */
function grantedAudience (client: RegisteredClient, requested: string | undefined, defaultAudience: string): string {
  if (requested === undefined) return client.audiences.includes(defaultAudience) ? defaultAudience : client.audiences[0]!
  if (!client.audiences.includes(requested)) throw new InvalidTargetError('This client may not request tokens for that resource')
  return requested
}

export default tokenRoute
