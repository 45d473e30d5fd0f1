import { CreateTableCommand } from '@aws-sdk/client-dynamodb'
import type { GetCommand } from '@aws-sdk/lib-dynamodb'
import { performance } from 'node:perf_hooks'
import { PEER_TABLE, peerItem, peerTableDefinition } from '../baselines/peer-app.ts'
import { UNSHARDED } from '../../shared/store/keys.ts'
import { createRecordsRepository } from '../../shared/store/records-repository.ts'
import { ensureTable } from '../../shared/store/table.ts'
import { BENCH_TENANT, benchFile, createHttpClient, expectStatus, openStore, OTHER_TENANT, recordFunctionEnv, startBenchStore, type BenchIssuer, type BenchStore, type HttpClient } from '../lib/environment.ts'
import type { Fleet } from '../lib/fleet.ts'
import { freePort, startChild, waitForOk } from '../lib/processes.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'
import { BENCH_LAYOUT, batchWrite, createBody, map, RARE_STATUS, repositoryCommand, seededRecord, seededRecords, storedItem } from '../lib/records.ts'
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
  storeQuery: 'store alone: the first page\'s Queries (repository)',
  storeGet: 'store alone: GetItem (SDK)'
}
/** The same tenants in an unsharded table (the layout before issue 18), measured in the same run. */
export const UNSHARDED_STEPS = ['firstPage', 'tenthPage', 'storeQuery'] as const
export type UnshardedStep = typeof UNSHARDED_STEPS[number]

export interface ScalingPoint {
  tenantRecords: number
  /** Records of other tenants in our store while ours were measured. */
  otherTenantRecords: number
  /** Seeding time of this step (both layouts), ms. */
  seedMs: number
  ours: Record<WalkStep | StoreStep, LatencySummary>
  /** Index shards of ours. */
  indexShards: number
  /** Ours on an unsharded table (same store process, same records), alternating with the sharded one. */
  unsharded: Record<UnshardedStep, LatencySummary>
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
  tenthPage (path: string, headers: Record<string, string>): Promise<string>
}

/** The tenant kept small while another grows: both are measured side by side. */
export const SMALL_TENANT = 'bench-small'

/**
 * List scaling and the peer walk. Ours: a tenant of `small` records and one of `large` (plus
 * `large` in a third tenant) live in the same store and are measured alternately, so the ratio
 * shows what the tenant's size costs, and nothing else (machine load falls on both alike). The
 * peer (one Fastify app, Scan for lists) is walked with its table at `small` records, then at
 * 2 × `large` + `small`: a Scan's cost follows the table, not the tenant. Each design has a store
 * process of its own holding only its own layout, seeded with BatchWriteItem.
 */
export async function measureListScaling (options: { bundles: string, store: BenchStore, issuer: BenchIssuer, fleet: Fleet, sizes: ScalingSizes, log: (line: string) => void }): Promise<ScalingPoint[]> {
  const { bundles, store, issuer, fleet, sizes, log } = options
  const peerStore = await startBenchStore(PEER_TABLE, (peer) => peer.client.send(new CreateTableCommand(peerTableDefinition(PEER_TABLE))))
  // The unsharded table lives in the same store process as ours: the two layouts share every cost but the layout.
  const unshardedStore = { ...openStore(store.endpoint, `${store.tableName}-unsharded`), endpoint: store.endpoint, pid: store.pid, close: async () => {} }
  await ensureTable(unshardedStore.client, unshardedStore.tableName, { indexShards: 1 })
  const unshardedPort = await freePort()
  const unshardedList = startChild(`${bundles}/functions/list-records/index.mjs`, [], { ...recordFunctionEnv('list-records', unshardedStore, issuer, unshardedPort), RATE_LIMIT: 'off' })
  const port = await freePort()
  const peer = startChild(benchFile('baselines/peer-server.ts'), [], {
    PATH: process.env.PATH, PORT: String(port), DYNAMODB_ENDPOINT: peerStore.endpoint, TABLE_NAME: PEER_TABLE,
    AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience, AUTH_JWKS_URL: issuer.jwksUrl
  })
  try {
    await waitForOk(`http://127.0.0.1:${port}/healthz`, peer, performance.now(), { timeoutMs: 60_000, intervalMs: 20 })
    await waitForOk(`http://127.0.0.1:${unshardedPort}/healthz`, unshardedList, performance.now(), { timeoutMs: 60_000, intervalMs: 20 })
    const auth = {
      small: { authorization: `Bearer ${await issuer.token(SMALL_TENANT)}` },
      large: { authorization: `Bearer ${await issuer.token(BENCH_TENANT)}` }
    }
    const walker = (base: string): Walker => {
      const client = createHttpClient(base)
      return {
        client,
        async tenthPage (path, headers) {
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
    const unshardedWalk = walker(`http://127.0.0.1:${unshardedPort}`)
    const theirs = walker(`http://127.0.0.1:${port}`)
    const step = (walk: Walker, path: string, headers: Record<string, string>) => () => expectStatus(walk.client.call('GET', path, headers), 200, path)
    const post = (walk: Walker, headers: Record<string, string>) => () => expectStatus(walk.client.call('POST', '/v1/records', { ...headers, 'content-type': 'application/json' }, JSON.stringify(createBody)), 201, 'POST /v1/records')
    const send = (command: { constructor: new (input: unknown) => unknown, input: unknown }) => () => store.documents.send(new command.constructor(command.input) as GetCommand)
    const counts = { count: sizes.samples, warmup: sizes.warmup }
    const seededAt = Date.now()
    // Records are generated as they are written, never held: the harness's heap stays small.
    // Ids are seeded by tenant, so the peer's table (keyed by id alone) keeps every tenant's records.
    const seed = async (target: BenchStore, tenant: string, count: number, item: (tenant: string, record: SecurityRecord) => Record<string, unknown>) =>
      batchWrite(target, target.tableName, map(seededRecords(0, count, seededAt, tenant), (record) => item(tenant, record)))
    const settle = () => new Promise((resolve) => setTimeout(resolve, sizes.settleMs))

    /** The peer's walk for one tenant: Scan-based pages, point read, create. */
    const peerWalk = async (headers: Record<string, string>, getId: string, rareSamples: number): Promise<Record<WalkStep, LatencySummary>> => {
      const tenth = await theirs.tenthPage('/v1/records?status=open', headers)
      const steps = await measureInterleaved({
        firstPage: step(theirs, '/v1/records?status=open', headers),
        tenthPage: step(theirs, tenth, headers),
        get: step(theirs, `/v1/records/${getId}`, headers),
        create: post(theirs, headers)
      }, counts)
      const rare = await measureInterleaved({ rareFilter: step(theirs, `/v1/records?status=${RARE_STATUS}`, headers) }, { count: rareSamples, warmup: 1 })
      return { ...steps, ...rare }
    }

    // 1. Small tables: the peer at `small` records.
    let started = performance.now()
    await seed(store, SMALL_TENANT, sizes.small, storedItem)
    await seed(unshardedStore, SMALL_TENANT, sizes.small, (tenant, record) => storedItem(tenant, record, UNSHARDED))
    await seed(peerStore, SMALL_TENANT, sizes.small, peerItem)
    const smallSeedMs = performance.now() - started
    await settle()
    const smallId = seededRecord(0, seededAt, SMALL_TENANT).id
    const peerSmall = await peerWalk(auth.small, smallId, Math.min(sizes.samples, 20))
    log(`list scaling: peer at ${sizes.small} records: first page ${peerSmall.firstPage.p50.toFixed(2)} ms, rare filter ${peerSmall.rareFilter.p50.toFixed(2)} ms`)

    // 2. A large tenant and another one beside the small tenant.
    started = performance.now()
    await seed(store, BENCH_TENANT, sizes.large, storedItem)
    await seed(store, OTHER_TENANT, sizes.large, storedItem)
    await seed(unshardedStore, BENCH_TENANT, sizes.large, (tenant, record) => storedItem(tenant, record, UNSHARDED))
    await seed(peerStore, BENCH_TENANT, sizes.large, peerItem)
    await seed(peerStore, OTHER_TENANT, sizes.large, peerItem)
    const largeSeedMs = performance.now() - started
    log(`list scaling: seeded ${sizes.large} + ${sizes.large} records (both layouts) in ${(largeSeedMs / 1000).toFixed(1)} s`)
    await settle()
    const largeId = seededRecord(0, seededAt, BENCH_TENANT).id

    const tenth = { small: await ours.list.tenthPage('/v1/records?status=open', auth.small), large: await ours.list.tenthPage('/v1/records?status=open', auth.large) }
    const unshardedTenth = { small: await unshardedWalk.tenthPage('/v1/records?status=open', auth.small), large: await unshardedWalk.tenthPage('/v1/records?status=open', auth.large) }
    // The first page as the function reads it (every shard's Query), straight from a repository.
    const repositories = { sharded: createRecordsRepository(store), unsharded: createRecordsRepository(unshardedStore) }
    const firstPageQueries = (layout: keyof typeof repositories, tenant: string) => () => repositories[layout].list(tenant, { status: ['open'], order: 'desc' }, 25, undefined, new Date())
    const storeCommands = async (tenant: string, id: string) => ({ get: await repositoryCommand(store.tableName, (repository) => repository.getStored(tenant, id), BENCH_LAYOUT) })
    const direct = { small: await storeCommands(SMALL_TENANT, smallId), large: await storeCommands(BENCH_TENANT, largeId) }
    const firstPage = await measureInterleaved({
      small: step(ours.list, '/v1/records?status=open', auth.small), large: step(ours.list, '/v1/records?status=open', auth.large),
      unshardedSmall: step(unshardedWalk, '/v1/records?status=open', auth.small), unshardedLarge: step(unshardedWalk, '/v1/records?status=open', auth.large),
      storeSmall: firstPageQueries('sharded', SMALL_TENANT), storeLarge: firstPageQueries('sharded', BENCH_TENANT),
      unshardedStoreSmall: firstPageQueries('unsharded', SMALL_TENANT), unshardedStoreLarge: firstPageQueries('unsharded', BENCH_TENANT)
    }, counts)
    const tenthPage = await measureInterleaved({
      small: step(ours.list, tenth.small, auth.small), large: step(ours.list, tenth.large, auth.large),
      unshardedSmall: step(unshardedWalk, unshardedTenth.small, auth.small), unshardedLarge: step(unshardedWalk, unshardedTenth.large, auth.large)
    }, counts)
    const rare = await measureInterleaved({
      small: step(ours.list, `/v1/records?status=${RARE_STATUS}`, auth.small), large: step(ours.list, `/v1/records?status=${RARE_STATUS}`, auth.large)
    }, counts)
    const get = await measureInterleaved({
      small: step(ours.get, `/v1/records/${smallId}`, auth.small), large: step(ours.get, `/v1/records/${largeId}`, auth.large),
      storeSmall: send(direct.small.get), storeLarge: send(direct.large.get)
    }, counts)
    const create = await measureInterleaved({ small: post(ours.create, auth.small), large: post(ours.create, auth.large) }, counts)
    log(`list scaling: ours, first page ${firstPage.small.p50.toFixed(2)} ms at ${sizes.small} vs ${firstPage.large.p50.toFixed(2)} ms at ${sizes.large}; 10th page ${tenthPage.small.p50.toFixed(2)} vs ${tenthPage.large.p50.toFixed(2)} ms`)
    log(`list scaling: unsharded, first page ${firstPage.unshardedSmall.p50.toFixed(2)} ms at ${sizes.small} vs ${firstPage.unshardedLarge.p50.toFixed(2)} ms at ${sizes.large}`)

    // 3. The peer's table at 2 × large + small records.
    const peerLarge = await peerWalk(auth.large, largeId, sizes.peerRareSamples)
    log(`list scaling: peer at ${2 * sizes.large + sizes.small} records: first page ${peerLarge.firstPage.p50.toFixed(2)} ms, rare filter ${peerLarge.rareFilter.p50.toFixed(2)} ms`)

    for (const walk of [ours.list, ours.get, ours.create, theirs, unshardedWalk]) walk.client.close()
    const oursAt = (size: 'small' | 'large') => ({
      firstPage: firstPage[size], tenthPage: tenthPage[size], rareFilter: rare[size], get: get[size], create: create[size],
      storeQuery: size === 'small' ? firstPage.storeSmall : firstPage.storeLarge,
      storeGet: size === 'small' ? get.storeSmall : get.storeLarge
    })
    const unshardedAt = (size: 'small' | 'large') => size === 'small'
      ? { firstPage: firstPage.unshardedSmall, tenthPage: tenthPage.unshardedSmall, storeQuery: firstPage.unshardedStoreSmall }
      : { firstPage: firstPage.unshardedLarge, tenthPage: tenthPage.unshardedLarge, storeQuery: firstPage.unshardedStoreLarge }
    const indexShards = BENCH_LAYOUT.shards
    return [
      { tenantRecords: sizes.small, otherTenantRecords: 2 * sizes.large, seedMs: smallSeedMs, ours: oursAt('small'), indexShards, unsharded: unshardedAt('small'), peer: peerSmall },
      { tenantRecords: sizes.large, otherTenantRecords: sizes.large + sizes.small, seedMs: largeSeedMs, ours: oursAt('large'), indexShards, unsharded: unshardedAt('large'), peer: peerLarge }
    ]
  } finally {
    await unshardedList.stop()
    unshardedStore.client.destroy()
    await peer.stop()
    await peerStore.close()
  }
}
