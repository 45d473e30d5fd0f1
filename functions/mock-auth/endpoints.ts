import type { FunctionRoute } from '../../shared/routing-table.ts'

export const MOCK_AUTH_FUNCTION = 'mock-auth'

/**
 * Every path the mock authorization server answers, in one table: the discovery document names
 * them as `<issuer><path>`, and the local gateway and the cluster ingress route them here.
 */
export const oauthPaths = {
  /**
   * RFC 8414 authorization server metadata. There is no `/.well-known/openid-configuration`: this
   * server issues no ID tokens and has no UserInfo endpoint, so it is no OpenID Provider and
   * could not publish a true OpenID Provider Metadata document (OpenID Connect Discovery 1.0 §3
   * requires `id_token_signing_alg_values_supported`, `subject_types_supported` and more).
   */
  metadata: '/.well-known/oauth-authorization-server',
  /** The authorization endpoint: the login page (GET) and the sign-in it posts (POST). */
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  jwks: '/oauth2/jwks',
  introspection: '/oauth2/introspect',
  revocation: '/oauth2/revoke'
} as const

/** The mock's routes for the gateway: all public, each endpoint checks its own client credentials. */
export const mockAuthRoutes: readonly FunctionRoute[] = [
  { function: MOCK_AUTH_FUNCTION, method: 'GET', path: oauthPaths.metadata, authenticated: false },
  { function: MOCK_AUTH_FUNCTION, method: 'GET', path: oauthPaths.jwks, authenticated: false },
  { function: MOCK_AUTH_FUNCTION, method: 'GET', path: oauthPaths.authorization, authenticated: false },
  { function: MOCK_AUTH_FUNCTION, method: 'POST', path: oauthPaths.authorization, authenticated: false },
  { function: MOCK_AUTH_FUNCTION, method: 'POST', path: oauthPaths.token, authenticated: false },
  { function: MOCK_AUTH_FUNCTION, method: 'POST', path: oauthPaths.introspection, authenticated: false },
  { function: MOCK_AUTH_FUNCTION, method: 'POST', path: oauthPaths.revocation, authenticated: false }
]

/**
 * The header the edge sets to the client's address as it saw the connection, overwriting whatever
 * the client sent: the local gateway from its socket, the Istio ingress from
 * `%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%` (knative/base/ingress). mock-auth counts failed client
 * authentications per this address (AUTH_CLIENT_ADDRESS_HEADER); X-Forwarded-For cannot serve,
 * because the ingress keeps the entries a client wrote and a source-rewriting load balancer makes
 * the client look like one more private proxy.
 */
export const CLIENT_ADDRESS_HEADER = 'x-client-address'

/** An issuer is an origin: `http(s)://host[:port]`, no path, no trailing slash (its `iss` is compared exactly). */
export const ISSUER_PATTERN = '^https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?$'

/** The absolute URL of an endpoint of this issuer. */
export function endpointUrl (issuer: string, path: string): string {
  return `${issuer}${path}`
}
