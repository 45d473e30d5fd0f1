/**
 * One route of the routing table: which function serves which method and path. The table itself
 * is derived from the function registry (functions/registry.ts); the local gateway routes by it
 * and the cluster's ingress manifest is generated from it, so both route exactly alike.
 */
export interface FunctionRoute {
  function: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** Fastify-style path (`:id` for a parameter). */
  path: string
  /** True when the ingress must see a valid access token before routing. */
  authenticated: boolean
}

/**
 * The edge's per-address request rate: the local gateway and the cluster ingress (Envoy's local rate
 * limit, Traefik's rateLimit middleware) apply the same numbers, generated from here. Sized well
 * above what a person or one CI runner sends; a flood from one address is held to it.
 */
export const ADDRESS_RATE_LIMIT = {
  /** Requests per second one client address may make, sustained. */
  perSecond: 100,
  /** Requests it may make at once beyond that rate. */
  burst: 200
} as const
