import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { verifierMatches, type AuthorizationCodes } from './authorization-codes.ts'
import type { AccessTokenClaims } from './access-tokens.ts'
import { tokenLifetimeSeconds, type RegisteredClient } from './clients.ts'
import { oauthPaths } from './endpoints.ts'
import { InvalidGrantError, InvalidRequestError, InvalidScopeError, InvalidTargetError, noStore, UnauthorizedClientError, UnsupportedGrantTypeError } from './oauth-errors.ts'
import { tokenSchema } from './schemas.ts'
import type { RedeemedCodes } from '../../shared/store/redeemed-codes.ts'

export interface TokenRouteOptions {
  codes: AuthorizationCodes
  /** Absent when nobody can sign in: then there is no authorization code grant. */
  redeemedCodes: RedeemedCodes | undefined
}

/** `POST /oauth2/token`: client credentials (RFC 6749 §4.4) and the authorization code with PKCE (§4.1.3, RFC 7636). */
const tokenRoute: FastifyPluginAsyncTypebox<TokenRouteOptions> = async (app, { codes, redeemedCodes }) => {
  const { tokens, defaultAudience, issuer, revocations } = app.authorizationServer
  app.post(oauthPaths.token, { schema: tokenSchema }, async (request, reply) => {
    const { grant_type: grantType, scope, resource } = request.body
    const client = request.client
    const audience = grantedAudience(client, resource, defaultAudience)
    let issued: { claims: AccessTokenClaims, token: string }
    if (grantType === 'client_credentials') {
      issued = await tokens.issue(client, grantedScopes(client, scope), audience)
    } else if (grantType === 'authorization_code' && redeemedCodes) {
      const { code, redirect_uri: redirectUri, code_verifier: verifier } = request.body
      if (!client.redirect_uris) throw new UnauthorizedClientError('This client may not use the authorization code grant: it has no redirect URIs')
      if (code === undefined || redirectUri === undefined || verifier === undefined) throw new InvalidRequestError('The authorization code grant needs code, redirect_uri and code_verifier')
      if (scope !== undefined) throw new InvalidRequestError('The scope of an authorization code was fixed when the person signed in; send no scope')
      const grant = await codes.read(code)
      // One answer for every reason: a code is either good for exactly this exchange or for none.
      const refused = 'The code is invalid, expired, already used, or was issued for another client, redirect URI or code challenge'
      if (!grant || grant.clientId !== client.client_id || grant.redirectUri !== redirectUri || !verifierMatches(verifier, grant.codeChallenge)) throw new InvalidGrantError(refused)
      if (!await redeemedCodes.redeem(issuer, grant.id, grant.expiresAt)) {
        // RFC 6749 §4.1.2: a code used twice revokes what the first use obtained.
        await revocations.revoke(issuer, grant.id, grant.expiresAt + tokenLifetimeSeconds(client))
        request.log.warn({ clientId: client.client_id }, 'authorization code replayed: its token is revoked')
        throw new InvalidGrantError(refused)
      }
      issued = await tokens.issue(client, grant.scopes, audience, { username: grant.user.username, name: grant.user.name, tenant: grant.user.tenant, tokenId: grant.id })
    } else {
      throw new UnsupportedGrantTypeError(grantType)
    }
    const { token, claims } = issued
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
