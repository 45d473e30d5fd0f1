import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { supportedScopes } from './clients.ts'
import { endpointUrl, oauthPaths } from './endpoints.ts'
import { jwksSchema, metadataSchema } from './schemas.ts'

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post']
/** Public documents: verifiers may cache them; a rotated-in key shows up within this time. */
const PUBLIC_CACHE = 'public, max-age=300'

/** RFC 8414 metadata and the JWKS. */
const discoveryRoute: FastifyPluginAsyncTypebox = async (app) => {
  const { issuer, signingKeys, signsInPeople } = app.authorizationServer
  const metadata = {
    issuer,
    ...(signsInPeople ? { authorization_endpoint: endpointUrl(issuer, oauthPaths.authorization) } : {}),
    token_endpoint: endpointUrl(issuer, oauthPaths.token),
    jwks_uri: endpointUrl(issuer, oauthPaths.jwks),
    introspection_endpoint: endpointUrl(issuer, oauthPaths.introspection),
    revocation_endpoint: endpointUrl(issuer, oauthPaths.revocation),
    grant_types_supported: signsInPeople ? ['client_credentials', 'authorization_code'] : ['client_credentials'],
    // Without an authorization endpoint, no response types (RFC 8414 §2 requires the member).
    response_types_supported: signsInPeople ? ['code'] : [],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    scopes_supported: supportedScopes,
    // RFC 7636: S256 only; `plain` would hand the challenge's secret to whoever sees the request.
    ...(signsInPeople ? { code_challenge_methods_supported: ['S256'], authorization_response_iss_parameter_supported: true } : {})
  }

  app.get(oauthPaths.metadata, { schema: metadataSchema }, async (_request, reply) => reply.header('cache-control', PUBLIC_CACHE).send(metadata))
  app.get(oauthPaths.jwks, { schema: jwksSchema }, async (_request, reply) => reply.header('cache-control', PUBLIC_CACHE).send(signingKeys.jwks))
}

export default discoveryRoute
