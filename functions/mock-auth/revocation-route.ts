import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { oauthPaths } from './endpoints.ts'
import { noStore, UnauthorizedClientError } from './oauth-errors.ts'
import { revocationSchema } from './schemas.ts'

/**
 * `POST /oauth2/revoke` (RFC 7009). Its `jti` goes on the denylist the records API checks, until
 * the token would have expired anyway. Only the client a token was issued to may revoke it
 * (§2.1); a token that is invalid, expired or unknown is answered 200 like a revoked one (§2.2).
 */
const revocationRoute: FastifyPluginAsyncTypebox = async (app) => {
  const { tokens, revocations, issuer } = app.authorizationServer
  app.post(oauthPaths.revocation, { schema: revocationSchema }, async (request, reply) => {
    noStore(reply)
    const claims = await tokens.inspect(request.body.token)
    if (claims) {
      if (claims.client_id !== request.client.client_id) throw new UnauthorizedClientError('This token was issued to another client; only that client can revoke it')
      await revocations.revoke(issuer, claims.jti, claims.exp)
    }
    return reply.code(200).send()
  })
}

export default revocationRoute
