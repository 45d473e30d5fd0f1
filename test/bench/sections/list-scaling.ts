import { CreateTableCommand } from '@aws-sdk/client-dynamodb'
import type { GetCommand } from '@aws-sdk/lib-dynamodb'
import { performance } from 'node:perf_hooks'
import { PEER_TABLE, peerItem, peerTableDefinition } from '../baselines/peer-app.ts'
import { BENCH_TENANT, benchFile, createHttpClient, expectStatus, OTHER_TENANT, startBenchStore, type BenchIssuer, type BenchStore, type HttpClient } from '../lib/environment.ts'
import type { Fleet } from '../lib/fleet.ts'
import { freePort, startChild, waitForOk } from '../lib/processes.ts'
import { batchWrite, createBody, map, RARE_STATUS, repositoryCommand, seededRecord, seededRecords, storedItem } from '../lib/records.ts'
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
/** The store under our functions, measured directly: how the store itself scales. */
export const STORE_STEPS = ['storeQuery', 'storeGet'] as const
export type StoreStep = typeof STORE_STEPS[number]
export const storeLabels: Record<StoreStep, string> = {
  storeQuery: 'store alone: the first page\'s Query (SDK)',
  storeGet: 'store alone: GetItem (SDK)'
}

export interface ScalingPoint {
  tenantRecords: number
  otherTenantRecords: number
  /** Seeding time of this step (both layouts), ms. */
  seedMs: number
  ours: Record<WalkStep | StoreStep, LatencySummary>
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
  /** Pause after seeding, ms. */
  settleMs: number
}

interface Walker {
  client: HttpClient
  /** Path of the 10th page of a query: follows nine cursors first. */
  tenthPage (path: string): Promise<string>
}

/**
 * List scaling and the peer walk: the same create/get/list steps against our functions and the
 * peer baseline (one Fastify app, Scan for lists), at `small` records in the tenant and again at
 * `large` (plus as many in another tenant). Each design has a store process of its own holding
 * only its own layout, seeded with BatchWriteItem.
 */
export async function measureListScaling (options: { store: BenchStore, issuer: BenchIssuer, fleet: Fleet, sizes: ScalingSizes, log: (line: string) => void }): Promise<ScalingPoint[]> {
  const { store, issuer, fleet, sizes, log } = options
  const peerStore = await startBenchStore(PEER_TABLE, (peer) => peer.client.send(new CreateTableCommand(peerTableDefinition(PEER_TABLE))))
  const port = await freePort()
  const peer = startChild(benchFile('baselines/peer-server.ts'), [], {
    PATH: process.env.PATH, PORT: String(port), DYNAMODB_ENDPOINT: peerStore.endpoint, TABLE_NAME: PEER_TABLE,
    AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience, AUTH_JWKS_URL: issuer.jwksUrl
  })
  try {
    await waitForOk(`http://127.0.0.1:${port}/healthz`, peer, performance.now(), { timeoutMs: 60_000, intervalMs: 20 })
    const headers = { authorization: `Bearer ${await issuer.token(BENCH_TENANT)}` }
    const walker = (base: string): Walker => {
      const client = createHttpClient(base)
      return {
        client,
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
    const step = (walk: Walker, path: string) => () => expectStatus(walk.client.call('GET', path, headers), 200, path)
    const post = (walk: Walker) => () => expectStatus(walk.client.call('POST', '/v1/records', { ...headers, 'content-type': 'application/json' }, JSON.stringify(createBody)), 201, 'POST /v1/records')
    const send = (command: { constructor: new (input: unknown) => unknown, input: unknown }) => () => store.documents.send(new command.constructor(command.input) as GetCommand)

    const seededAt = Date.now()
    const points: ScalingPoint[] = []
    let seededTenant = 0
    let seededOther = 0
    for (const [tenantRecords, otherRecords] of [[sizes.small, 0], [sizes.large, sizes.large]] as const) {
      const started = performance.now()
      // Generated as written, never held: the harness's heap stays the same size at both points.
      await batchWrite(store, store.tableName, map(seededRecords(seededTenant, tenantRecords, seededAt), (record) => storedItem(BENCH_TENANT, record)))
      await batchWrite(store, store.tableName, map(seededRecords(seededOther, otherRecords, seededAt, OTHER_TENANT), (record) => storedItem(OTHER_TENANT, record)))
      await batchWrite(peerStore, PEER_TABLE, map(seededRecords(seededTenant, tenantRecords, seededAt), (record) => peerItem(BENCH_TENANT, record)))
      await batchWrite(peerStore, PEER_TABLE, map(seededRecords(seededOther, otherRecords, seededAt, OTHER_TENANT), (record) => peerItem(OTHER_TENANT, record)))
      const getId = seededRecord(seededTenant, seededAt).id
      seededTenant = tenantRecords
      seededOther = otherRecords
      const seedMs = performance.now() - started
      log(`list scaling: ${tenantRecords} records in the tenant, ${otherRecords} in another (seeded in ${(seedMs / 1000).toFixed(1)} s, both layouts)`)

      // Seeding leaves both stores collecting garbage for a while; let them settle first.
      await new Promise((resolve) => setTimeout(resolve, sizes.settleMs))
      const ourTenth = await ours.list.tenthPage('/v1/records?status=open')
      const storeQuery = repositoryCommand(store.tableName, (repository) => repository.list(BENCH_TENANT, { status: ['open'], order: 'desc' }, 25, undefined, new Date()))
      const storeGet = repositoryCommand(store.tableName, (repository) => repository.getStored(BENCH_TENANT, getId))
      const counts = { count: sizes.samples, warmup: sizes.warmup }
      // Ours first, then the peer's: a Scan keeps the peer's store busy after it answered, and
      // that must not land on our figures (each design's variants alternate among themselves).
      const firstPage = await measureInterleaved({ ours: step(ours.list, '/v1/records?status=open'), store: send(storeQuery) }, counts)
      const tenthPage = await measureInterleaved({ ours: step(ours.list, ourTenth) }, counts)
      const rare = await measureInterleaved({ ours: step(ours.list, `/v1/records?status=${RARE_STATUS}`) }, counts)
      const get = await measureInterleaved({ ours: step(ours.get, `/v1/records/${getId}`), store: send(storeGet) }, counts)
      const create = await measureInterleaved({ ours: post(ours.create) }, counts)
      const theirTenth = await theirs.tenthPage('/v1/records?status=open')
      const peerSteps = await measureInterleaved({
        firstPage: step(theirs, '/v1/records?status=open'),
        tenthPage: step(theirs, theirTenth),
        get: step(theirs, `/v1/records/${getId}`),
        create: post(theirs)
      }, counts)
      const peerRare = await measureInterleaved({ peer: step(theirs, `/v1/records?status=${RARE_STATUS}`) }, { count: otherRecords > 0 ? sizes.peerRareSamples : Math.min(sizes.samples, 20), warmup: 1 })
      const measured = { firstPage, tenthPage, rare, get, create }
      points.push({
        tenantRecords,
        otherTenantRecords: otherRecords,
        seedMs,
        ours: {
          firstPage: measured.firstPage.ours,
          tenthPage: measured.tenthPage.ours,
          rareFilter: measured.rare.ours,
          get: measured.get.ours,
          create: measured.create.ours,
          storeQuery: measured.firstPage.store,
          storeGet: measured.get.store
        },
        peer: { ...peerSteps, rareFilter: peerRare.peer }
      })
      log(`list scaling at ${tenantRecords}: first page ${firstPage.ours.p50.toFixed(2)} ms (peer ${peerSteps.firstPage.p50.toFixed(2)}, store ${firstPage.store.p50.toFixed(2)}), 10th ${tenthPage.ours.p50.toFixed(2)} ms (peer ${peerSteps.tenthPage.p50.toFixed(2)}), rare ${rare.ours.p50.toFixed(2)} ms (peer ${peerRare.peer.p50.toFixed(2)})`)
    }
    for (const walk of [ours.list, ours.get, ours.create, theirs]) walk.client.close()
    return points
  } finally {
    await peer.stop()
    await peerStore.close()
  }
}
