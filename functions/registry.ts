/**
 * Every deployable function, in one list: the routing table (local gateway and cluster ingress),
 * the local stack, the build's bundles, the manifest tests and the benchmark fleet derive from it.
 * Adding a function means adding its folder and one entry here.
 */
import type { FunctionRoute } from '../shared/routing-table.ts'
import type { FunctionDefinition } from '../shared/server.ts'
import { consoleRoutes } from './console/endpoints.ts'
import { definition as consoleFunction } from './console/index.ts'
import { definition as createRecord } from './create-record/index.ts'
import { definition as deleteRecord } from './delete-record/index.ts'
import { definition as getRecord } from './get-record/index.ts'
import { definition as importReport } from './import-report/index.ts'
import { definition as ingestFinding } from './ingest-finding/index.ts'
import { definition as listRecords } from './list-records/index.ts'
import { mockAuthRoutes } from './mock-auth/endpoints.ts'
import { definition as mockAuth } from './mock-auth/index.ts'
import { definition as recordMetrics } from './record-metrics/index.ts'
import { definition as updateRecord } from './update-record/index.ts'

type Route = Omit<FunctionRoute, 'function'>

export interface RegisteredFunction {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each function builds from its own settings type; the registry holds them all
  definition: FunctionDefinition<any>
  /** Routes the cluster ingress and the local gateway send to it. */
  routes: readonly Route[]
  /**
   * Routes only the local gateway has. In the cluster the broker delivers findings to
   * ingest-finding's `/` (cluster-local, its sender checked); the ingress never routes that.
   */
  localRoutes?: readonly Route[]
  /** A record function: serves `/v1/records`, reads the record settings (shared/config.ts). */
  record: boolean
  /** Commits or repairs record changes, so it delivers CloudEvents to K_SINK (a SinkBinding). */
  emitsEvents: boolean
}

export const functionRegistry: readonly RegisteredFunction[] = [
  { definition: createRecord, record: true, emitsEvents: true, routes: [{ method: 'POST', path: '/v1/records', authenticated: true }] },
  { definition: listRecords, record: true, emitsEvents: false, routes: [{ method: 'GET', path: '/v1/records', authenticated: true }] },
  {
    definition: getRecord,
    record: true,
    // Reads settle what a crashed writer left undone: history entry and event included.
    emitsEvents: true,
    routes: [{ method: 'GET', path: '/v1/records/:id', authenticated: true }, { method: 'GET', path: '/v1/records/:id/history', authenticated: true }]
  },
  { definition: updateRecord, record: true, emitsEvents: true, routes: [{ method: 'PATCH', path: '/v1/records/:id', authenticated: true }] },
  { definition: deleteRecord, record: true, emitsEvents: true, routes: [{ method: 'DELETE', path: '/v1/records/:id', authenticated: true }] },
  {
    definition: importReport,
    record: true,
    emitsEvents: true,
    routes: [{ method: 'POST', path: '/v1/imports', authenticated: true }, { method: 'GET', path: '/v1/imports/:id', authenticated: true }, { method: 'POST', path: '/v1/vex', authenticated: true }]
  },
  { definition: mockAuth, record: false, emitsEvents: false, routes: mockAuthRoutes },
  // The people's pages: calls the records API through the ingress with the person's token.
  { definition: consoleFunction, record: false, emitsEvents: false, routes: consoleRoutes },
  {
    definition: ingestFinding,
    record: false,
    emitsEvents: true,
    // The producer path: a finding reported with an access token, published to the broker.
    routes: [{ method: 'POST', path: '/v1/findings', authenticated: true }],
    localRoutes: [{ method: 'POST', path: '/events/findings', authenticated: true }]
  },
  // Counts the record events (a Trigger's subscriber, as ingest-finding) and answers from the counters.
  { definition: recordMetrics, record: true, emitsEvents: false, routes: [{ method: 'GET', path: '/v1/metrics', authenticated: true }] }
]

export const functionNames = functionRegistry.map((entry) => entry.definition.name)
export const recordFunctionNames = functionRegistry.filter((entry) => entry.record).map((entry) => entry.definition.name)

const routesOf = (entry: RegisteredFunction, routes: readonly Route[]): FunctionRoute[] =>
  routes.map((route) => ({ function: entry.definition.name, ...route }))

/** What the cluster ingress routes (and the local gateway, which also has the local-only routes). */
export const routingTable: readonly FunctionRoute[] = functionRegistry.flatMap((entry) => routesOf(entry, entry.routes))
export const localOnlyRoutes: readonly FunctionRoute[] = functionRegistry.flatMap((entry) => routesOf(entry, entry.localRoutes ?? []))
