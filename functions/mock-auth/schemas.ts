import { Type } from 'typebox'
import { oauthErrorResponses } from './oauth-errors.ts'

const FORM = 'application/x-www-form-urlencoded'
const json = <T>(description: string, schema: T) => ({ description, content: { 'application/json': { schema } } })

/** Parameters are text sent once each (a repeated one arrives as an array and is refused). */
const parameter = (description: string, maxLength = 4096) => Type.String({ maxLength, description })
const clientCredentialFields = {
  client_id: Type.Optional(parameter('client_secret_post: the client id.', 512)),
  client_secret: Type.Optional(parameter('client_secret_post: the client secret.', 512))
}

export const TokenRequest = Type.Object({
  grant_type: parameter('client_credentials or authorization_code.'),
  scope: Type.Optional(parameter('client_credentials: space-separated scopes, a subset of the client\'s; all of them when absent.')),
  code: Type.Optional(parameter('authorization_code: the code the authorization endpoint sent to the redirect URI.')),
  redirect_uri: Type.Optional(parameter('authorization_code: the redirect URI of the authorization request, exactly.', 2000)),
  code_verifier: Type.Optional(parameter('authorization_code: the PKCE code verifier (RFC 7636) whose S256 challenge the authorization request carried.', 128)),
  resource: Type.Optional(parameter('RFC 8707: the API the token is for (its `aud`), one of the client\'s audiences.')),
  ...clientCredentialFields
}, { description: 'Unknown parameters are ignored (RFC 6749 §3.2).' })

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'RFC 9068 JWT.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires.' }),
  scope: Type.String({ description: 'The scopes granted, space-separated.' })
})

const TokenParameters = Type.Object({
  token: parameter('The access token.', 8192),
  token_type_hint: Type.Optional(parameter('access_token (other hints are ignored).', 64)),
  ...clientCredentialFields
})

export const IntrospectionResponse = Type.Object({
  active: Type.Boolean(),
  scope: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
  sub: Type.Optional(Type.String()),
  aud: Type.Optional(Type.String()),
  iss: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  jti: Type.Optional(Type.String()),
  tenant: Type.Optional(Type.String()),
  token_type: Type.Optional(Type.Literal('Bearer'))
}, { description: 'RFC 7662 §2.2: only `active` unless the token is active.' })

export const tokenSchema = {
  operationId: 'issueToken',
  summary: 'Issue an access token (client credentials, or authorization code with PKCE)',
  description: 'RFC 6749 §4.4 and §4.1.3 (with RFC 7636 PKCE, S256) with client_secret_basic or client_secret_post; RFC 8707 resource indicator. A code is redeemed once: a second exchange revokes the token the first one got.',
  tags: ['oauth'],
  consumes: [FORM],
  body: TokenRequest,
  response: { 200: json('The access token.', TokenResponse), ...oauthErrorResponses() }
}

export const introspectionSchema = {
  operationId: 'introspectToken',
  summary: 'Introspect an access token (RFC 7662)',
  description: 'Needs client authentication. Active only for an unexpired, unrevoked token of this server and of the caller\'s tenant.',
  tags: ['oauth'],
  consumes: [FORM],
  body: TokenParameters,
  response: { 200: json('The token\'s state.', IntrospectionResponse), ...oauthErrorResponses() }
}

export const revocationSchema = {
  operationId: 'revokeToken',
  summary: 'Revoke an access token (RFC 7009)',
  description: 'Needs client authentication; a client revokes the tokens issued to it. Any other token (another client\'s, unknown, invalid, expired) is left alone and answered with the same 200.',
  tags: ['oauth'],
  consumes: [FORM],
  body: TokenParameters,
  response: { 200: { description: 'Revoked, or nothing to revoke.', type: 'null' }, ...oauthErrorResponses() }
}

export const AuthorizationServerMetadata = Type.Object({
  issuer: Type.String(),
  authorization_endpoint: Type.Optional(Type.String()),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  introspection_endpoint: Type.String(),
  revocation_endpoint: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  code_challenge_methods_supported: Type.Optional(Type.Array(Type.String())),
  authorization_response_iss_parameter_supported: Type.Optional(Type.Boolean({ description: 'RFC 9207: the authorization response names the issuer.' }))
}, { description: 'RFC 8414 authorization server metadata.' })

const PublicJwk = Type.Object({
  kty: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String(),
  crv: Type.Optional(Type.String()), x: Type.Optional(Type.String()), y: Type.Optional(Type.String()),
  n: Type.Optional(Type.String()), e: Type.Optional(Type.String())
})
export const JsonWebKeySet = Type.Object({ keys: Type.Array(PublicJwk) }, { description: 'RFC 7517 public key set.' })

export const metadataSchema = {
  operationId: 'getAuthorizationServerMetadata',
  summary: 'Authorization server metadata (RFC 8414)',
  tags: ['oauth'],
  response: { 200: json('The metadata document.', AuthorizationServerMetadata) }
}

export const jwksSchema = {
  operationId: 'getJwks',
  summary: 'The public keys that verify access tokens',
  tags: ['oauth'],
  response: { 200: json('Every published signing key (public halves only).', JsonWebKeySet) }
}
