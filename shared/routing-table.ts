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
