import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { oauthPaths } from './endpoints.ts'
import { noStore } from './oauth-errors.ts'
import { revocationSchema } from './schemas.ts'

/**
 * `POST /oauth2/revoke` (RFC 7009). Its `jti` goes on the denylist the records API checks, until
 * the token would have expired anyway. Only the client a token was issued to may revoke it
 * (RFC 7009 §2.1). Every other token — another client's, another tenant's, invalid, expired, unknown — is
 * answered with the same empty 200 (RFC 7009 §2.2) and left as it is: a refusal would tell the caller that
 * someone else's token is genuine and still alive.
 */
const revocationRoute: FastifyPluginAsyncTypebox = async (app) => {
  const { tokens, revocations, issuer } = app.authorizationServer
  app.post(oauthPaths.revocation, { schema: revocationSchema }, async (request, reply) => {
    noStore(reply)
    const claims = await tokens.inspect(request.body.token)
    if (claims?.client_id === request.client.client_id) await revocations.revoke(issuer, claims.jti, claims.exp)
    return reply.code(200).send()
  })
}

export default revocationRoute
