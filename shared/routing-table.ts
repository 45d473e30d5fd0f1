/**
 * Which function serves which method and path: the local gateway routes by this table, and the
 * cluster's ingress manifest is generated from it, so both route exactly alike.
 */
export interface FunctionRoute {
  function: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** Fastify-style path (`:id` for a parameter). */
  path: string
  /** True when the ingress must see a valid access token before routing. */
  authenticated: boolean
}

export const recordFunctions = ['create-record', 'get-record', 'list-records', 'update-record', 'delete-record'] as const
export type RecordFunction = typeof recordFunctions[number]

export const routingTable: readonly FunctionRoute[] = [
  { function: 'create-record', method: 'POST', path: '/v1/records', authenticated: true },
  { function: 'list-records', method: 'GET', path: '/v1/records', authenticated: true },
  { function: 'get-record', method: 'GET', path: '/v1/records/:id', authenticated: true },
  { function: 'get-record', method: 'GET', path: '/v1/records/:id/history', authenticated: true },
  { function: 'update-record', method: 'PATCH', path: '/v1/records/:id', authenticated: true },
  { function: 'delete-record', method: 'DELETE', path: '/v1/records/:id', authenticated: true }
]
