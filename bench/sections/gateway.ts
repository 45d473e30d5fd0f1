import { performance } from 'node:perf_hooks'
import { benchFile, createHttpClient, expectStatus, type BenchIssuer, type BenchStore } from '../lib/environment.ts'
import type { Fleet, RecordFunction } from '../lib/fleet.ts'
import { measureLoad, type LoadResult } from '../lib/load.ts'
import { firstJsonLine, startChild, waitForOk } from '../lib/processes.ts'
import { batchWrite, map, seededRecords, storedItem } from '../lib/records.ts'
import { measureInterleaved, type LatencySummary } from '../lib/stats.ts'
import { httpOperations, OPERATIONS, sendOperation, versionPool, type Operation, type Sizes } from './request-overhead.ts'

export interface GatewayResult {
  operation: Operation
  /** Concurrency 1, alternating: through the local stack's gateway, and straight to the function bundle. */
  c1: { gateway: LatencySummary, function: LatencySummary }
  c16: { gateway: LoadResult }
}

const functionOf: Record<Operation, RecordFunction> = { get: 'get-record', create: 'create-record', update: 'update-record', list: 'list-records' }
/** The local client registry's admin client; its tenant is `local`. */
const LOCAL_TENANT = 'local'
const DIRECT_TENANT = 'bench-gateway-direct'

/**
 * The gateway hop: the local stack (startLocalStack, as `npm start` runs it) over the same
 * store, a token from its mock-auth by the client credentials grant, and the four operations
 * through its port, beside the same operations sent straight to the function bundles.
 */
export async function measureGateway (options: { store: BenchStore, issuer: BenchIssuer, fleet: Fleet, sizes: Sizes, log: (line: string) => void }): Promise<GatewayResult[]> {
  const { store, issuer, fleet, sizes } = options
  const child = startChild(benchFile('lib/stack-server.ts'), [], {
    PATH: process.env.PATH, BENCH_STORE_ENDPOINT: store.endpoint, TABLE_NAME: store.tableName, RATE_LIMIT: 'off', LOG_LEVEL: 'warn'
  }, { stdin: true })
  try {
    const { url } = await firstJsonLine<{ url: string }>(child, 60_000)
    await waitForOk(`${url}/healthz`, child, performance.now())
    const gateway = createHttpClient(url)
    const tokenResponse = await expectStatus(gateway.call('POST', '/oauth2/token', {
      authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded'
    }, 'grant_type=client_credentials'), 200, 'mock-auth token')
    const gatewayToken = (JSON.parse(tokenResponse.body) as { access_token: string }).access_token

    const seededAt = Date.now()
    const seeded = [...seededRecords(0, 400, seededAt)]
    await batchWrite(store, store.tableName, map(seeded, (record) => storedItem(LOCAL_TENANT, record)))
    await batchWrite(store, store.tableName, map(seeded, (record) => storedItem(DIRECT_TENANT, record)))
    const open = seeded.filter((record) => record.status === 'open')
    const viaGateway = httpOperations(gatewayToken, open[0]!.id, versionPool(open.slice(1, 65)))
    const direct = httpOperations(await issuer.token(DIRECT_TENANT), open[0]!.id, versionPool(open.slice(1, 65)))

    const results: GatewayResult[] = []
    for (const operation of OPERATIONS) {
      const straight = createHttpClient(fleet.url(functionOf[operation]))
      try {
        const c1 = await measureInterleaved({
          gateway: () => sendOperation(gateway, viaGateway[operation]),
          function: () => sendOperation(straight, direct[operation])
        }, { count: sizes.c1, warmup: sizes.warmup })
        const load = await measureLoad(url, viaGateway[operation], 16, sizes.seconds)
        if (load.non2xx > 0 || load.errors > 0) throw new Error(`gateway ${operation} under load: ${load.non2xx} non-2xx, ${load.errors} errors`)
        results.push({ operation, c1, c16: { gateway: load } })
        options.log(`gateway: ${operation} p50 ${c1.gateway.p50.toFixed(2)} ms vs direct ${c1.function.p50.toFixed(2)} ms; ${load.perSecond.toFixed(0)} /s at 16`)
      } finally {
        straight.close()
      }
    }
    gateway.close()
    return results
  } finally {
    await child.stop()
  }
}
