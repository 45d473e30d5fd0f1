import { CreateTableCommand } from '@aws-sdk/client-dynamodb'
import { performance } from 'node:perf_hooks'
import { PEER_TABLE, peerItem, peerTableDefinition } from '../baselines/peer-app.ts'
import { BENCH_TENANT, benchFile, createHttpClient, expectStatus, OTHER_TENANT, type BenchIssuer, type BenchStore, type HttpClient } from '../lib/environment.ts'
import type { Fleet } from '../lib/fleet.ts'
import { freePort, startChild, waitForOk } from '../lib/processes.ts'
import { batchWrite, createBody, map, RARE_STATUS, seededRecords, storedItem } from '../lib/records.ts'
import { measureInterleaved, type LatencySummary } from '../lib/stats.ts'

export const WALK_STEPS = ['firstPage', 'tenthPage', 'rareFilter', 'get', 'create'] as const
export type WalkStep = typeof WALK_STEPS[number]
export const walkLabels: Record<WalkStep, string> = {
  firstPage: 'list ?status=open, first page',
  tenthPage: 'list ?status=open, 10th page',
  rareFilter: `list ?status=${RARE_STATUS} (5 matches)`,
  get: 'GET /v1/records/{id}',
  create: 'POST /v1/records'
}

export interface ScalingPoint {
  tenantRecords: number
  otherTenantRecords: number
  /** Seeding time of this step (both layouts), ms. */
  seedMs: number
  ours: Record<WalkStep, LatencySummary>
  peer: Record<WalkStep, LatencySummary>
}

export interface ScalingSizes {
  small: number
  large: number
  /** Samples per step at concurrency 1. */
  samples: number
  /** Samples of the peer's rare filter at the large size (a full table Scan each). */
  peerRareSamples: number
  warmup: number
}

interface Walker {
  client: HttpClient
  headers: Record<string, string>
  /** Path of the 10th page of a query: follows nine cursors first. */
  tenthPage (path: string): Promise<string>
}

/**
 * List scaling and the peer walk: the same create/get/list steps against our functions and the
 * peer baseline (one Fastify app, Scan for lists), at `small` records in the tenant and again at
 * `large` (plus as many in another tenant). Seeded with BatchWriteItem in each design's layout.
 */
export async function measureListScaling (options: { store: BenchStore, issuer: BenchIssuer, fleet: Fleet, sizes: ScalingSizes, log: (line: string) => void }): Promise<ScalingPoint[]> {
  const { store, issuer, fleet, sizes, log } = options
  await store.client.send(new CreateTableCommand(peerTableDefinition(PEER_TABLE)))
  const port = await freePort()
  const peer = startChild(benchFile('baselines/peer-server.ts'), [], {
    PATH: process.env.PATH, PORT: String(port), DYNAMODB_ENDPOINT: store.endpoint, TABLE_NAME: PEER_TABLE,
    AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience, AUTH_JWKS_URL: issuer.jwksUrl
  })
  try {
    await waitForOk(`http://127.0.0.1:${port}/healthz`, peer, performance.now(), { timeoutMs: 60_000, intervalMs: 20 })
    const token = await issuer.token(BENCH_TENANT)
    const headers = { authorization: `Bearer ${token}` }
    const walker = (base: string): Walker => {
      const client = createHttpClient(base)
      return {
        client,
        headers,
        async tenthPage (path) {
          let cursor: string | null = null
          for (let page = 1; page < 10; page++) {
            const response = await expectStatus(client.call('GET', cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path, headers), 200, `page ${page} of ${path}`)
            cursor = (JSON.parse(response.body) as { nextCursor: string | null }).nextCursor
            if (!cursor) throw new Error(`${path} has fewer than 10 pages`)
          }
          return `${path}&cursor=${encodeURIComponent(cursor!)}`
        }
      }
    }
    const ours = { list: walker(fleet.url('list-records')), get: walker(fleet.url('get-record')), create: walker(fleet.url('create-record')) }
    const theirs = walker(`http://127.0.0.1:${port}`)

    const seededAt = Date.now()
    const points: ScalingPoint[] = []
    let seededTenant = 0
    let seededOther = 0
    for (const [tenantRecords, otherRecords] of [[sizes.small, 0], [sizes.large, sizes.large]] as const) {
      const started = performance.now()
      const tenantNew = [...seededRecords(seededTenant, tenantRecords, seededAt)]
      const otherNew = [...seededRecords(seededOther, otherRecords, seededAt)]
      await batchWrite(store, store.tableName, map(tenantNew, (record) => storedItem(BENCH_TENANT, record)))
      await batchWrite(store, store.tableName, map(otherNew, (record) => storedItem(OTHER_TENANT, record)))
      await batchWrite(store, PEER_TABLE, map(tenantNew, (record) => peerItem(BENCH_TENANT, record)))
      await batchWrite(store, PEER_TABLE, map(otherNew, (record) => peerItem(OTHER_TENANT, record)))
      seededTenant = tenantRecords
      seededOther = otherRecords
      const seedMs = performance.now() - started
      log(`list scaling: seeded ${tenantRecords} + ${otherRecords} records (both layouts) in ${(seedMs / 1000).toFixed(1)} s`)

      const getId = tenantNew[0]!.id
      const ourTenth = await ours.list.tenthPage('/v1/records?status=open')
      const theirTenth = await theirs.tenthPage('/v1/records?status=open')
      const step = (walk: Walker, path: string, expect = 200) => () => expectStatus(walk.client.call('GET', path, headers), expect, path)
      const post = (walk: Walker) => () => expectStatus(walk.client.call('POST', '/v1/records', { ...headers, 'content-type': 'application/json' }, JSON.stringify(createBody)), 201, 'POST /v1/records')
      const measured = {
        firstPage: await measureInterleaved({ ours: step(ours.list, '/v1/records?status=open'), peer: step(theirs, '/v1/records?status=open') }, { count: sizes.samples, warmup: sizes.warmup }),
        tenthPage: await measureInterleaved({ ours: step(ours.list, ourTenth), peer: step(theirs, theirTenth) }, { count: sizes.samples, warmup: sizes.warmup }),
        get: await measureInterleaved({ ours: step(ours.get, `/v1/records/${getId}`), peer: step(theirs, `/v1/records/${getId}`) }, { count: sizes.samples, warmup: sizes.warmup }),
        create: await measureInterleaved({ ours: post(ours.create), peer: post(theirs) }, { count: sizes.samples, warmup: sizes.warmup }),
        rareOurs: await measureInterleaved({ ours: step(ours.list, `/v1/records?status=${RARE_STATUS}`) }, { count: sizes.samples, warmup: sizes.warmup }),
        rarePeer: await measureInterleaved({ peer: step(theirs, `/v1/records?status=${RARE_STATUS}`) }, { count: otherRecords > 0 ? sizes.peerRareSamples : Math.min(sizes.samples, 20), warmup: 1 })
      }
      points.push({
        tenantRecords,
        otherTenantRecords: otherRecords,
        seedMs,
        ours: { firstPage: measured.firstPage.ours, tenthPage: measured.tenthPage.ours, rareFilter: measured.rareOurs.ours, get: measured.get.ours, create: measured.create.ours },
        peer: { firstPage: measured.firstPage.peer, tenthPage: measured.tenthPage.peer, rareFilter: measured.rarePeer.peer, get: measured.get.peer, create: measured.create.peer }
      })
      log(`list scaling at ${tenantRecords}: first page ${measured.firstPage.ours.p50.toFixed(2)} ms (peer ${measured.firstPage.peer.p50.toFixed(2)}), 10th ${measured.tenthPage.ours.p50.toFixed(2)} ms (peer ${measured.tenthPage.peer.p50.toFixed(2)}), rare ${measured.rareOurs.ours.p50.toFixed(2)} ms (peer ${measured.rarePeer.peer.p50.toFixed(2)})`)
    }
    for (const walk of [ours.list, ours.get, ours.create, theirs]) walk.client.close()
    return points
  } finally {
    await peer.stop()
  }
}
