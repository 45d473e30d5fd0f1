import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { oauthPaths } from './endpoints.ts'
import { noStore } from './oauth-errors.ts'
import { introspectionSchema } from './schemas.ts'

/**
 * `POST /oauth2/introspect` (RFC 7662). A client learns about tokens of its own tenant only: for
 * any other tenant's token the answer is `active: false`, exactly as for a forged one.
 */
const introspectionRoute: FastifyPluginAsyncTypebox = async (app) => {
  const { tokens, revocations, issuer } = app.authorizationServer
  app.post(oauthPaths.introspection, { schema: introspectionSchema }, async (request, reply) => {
    noStore(reply)
    const claims = await tokens.inspect(request.body.token)
    if (!claims || claims.tenant !== request.client.tenant || await revocations.isRevoked(issuer, claims.jti)) return reply.send({ active: false })
    return reply.send({ active: true, token_type: 'Bearer', ...claims })
  })
}

export default introspectionRoute
