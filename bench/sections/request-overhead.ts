import { performance } from 'node:perf_hooks'
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { v7 as uuidv7 } from 'uuid'
import { createEventSink } from '../../shared/events/record-events.ts'
import { buildNewRecord } from '../../shared/records/model.ts'
import { createDataLayer } from '../../shared/operations/data-layer.ts'
import { createRecord } from '../../shared/operations/create-record.ts'
import { getRecord } from '../../shared/operations/get-record.ts'
import { listRecords } from '../../shared/operations/list-records.ts'
import type { RequestContext } from '../../shared/operations/request-context.ts'
import { updateRecord } from '../../shared/operations/update-record.ts'
import type { RecordCreate, SecurityRecord } from '../../shared/records/schema.ts'
import type { Store } from '../../shared/store/client.ts'
import { partitions, recordKey, shardsToRead } from '../../shared/store/keys.ts'
import { benchFile, createHttpClient, expectStatus, openStore, type BenchStore, type HttpClient } from '../lib/environment.ts'
import type { Fleet, RecordFunction } from '../lib/fleet.ts'
import { measureLoad, type HttpOperation, type LoadResult } from '../lib/load.ts'
import { freePort, startChild, waitForOk } from '../lib/processes.ts'
import { BENCH_LAYOUT, batchWrite, createBody, map, repositoryCommand, seededRecords, storedItem } from '../lib/records.ts'
import { measureClosedLoop, measureInterleaved, type LatencySummary, type ThroughputSummary } from '../lib/stats.ts'

export const OPERATIONS = ['get', 'create', 'update', 'list'] as const
export type Operation = typeof OPERATIONS[number]

export const operationLabels: Record<Operation, string> = {
  get: 'GET /v1/records/{id}',
  create: 'POST /v1/records',
  update: 'PATCH /v1/records/{id}',
  list: 'GET /v1/records?status=open'
}
export const sdkLabels: Record<Operation, string> = { get: 'GetItem (consistent)', create: 'PutItem (conditional)', update: 'UpdateItem (conditional)', list: `Query × ${shardsToRead(BENCH_LAYOUT).length} shards at once (status index)` }
const functionOf: Record<Operation, RecordFunction> = { get: 'get-record', create: 'create-record', update: 'update-record', list: 'list-records' }

export interface OperationResult {
  operation: Operation
  /**
   * Concurrency 1: through the function over HTTP; through the minimal node:http server over the
   * same data layer; the data layer in-process; the one store operation with the SDK.
   */
  c1: { function: LatencySummary, minimal: LatencySummary, dataLayer: LatencySummary, sdk: LatencySummary }
  /** Concurrency 16: the function and the minimal server (autocannon), the SDK operation (closed loop). */
  c16: { function: LoadResult, minimal: LoadResult, sdk: ThroughputSummary }
  /** Store operations one API call makes, by command (counted on the data layer). */
  storeOps: Record<string, number>
}

export interface Sizes { c1: number, warmup: number, seconds: number }

/** Records whose versions the harness tracks, so that every PATCH carries the right If-Match. */
export function versionPool (records: readonly SecurityRecord[]) {
  const free = records.map((record) => ({ id: record.id, version: record.version }))
  return {
    take () {
      const next = free.shift()
      if (!next) throw new Error('version pool exhausted: more PATCHes in flight than records')
      return next
    },
    release (entry: { id: string, version: number }, ok: boolean) {
      if (ok) entry.version++
      else throw new Error(`PATCH of ${entry.id} failed; its version is unknown now`)
      free.push(entry)
    },
    size: () => free.length
  }
}
export type VersionPool = ReturnType<typeof versionPool>

/** The four API operations as HTTP requests for one tenant's token. */
export function httpOperations (token: string, getId: string, patchPool: VersionPool): Record<Operation, HttpOperation> {
  const auth = { authorization: `Bearer ${token}` }
  let counter = 0
  return {
    get: { method: 'GET', path: `/v1/records/${getId}`, headers: auth, expect: 200 },
    create: { method: 'POST', path: '/v1/records', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(createBody), expect: 201 },
    update: {
      method: 'PATCH',
      path: '/v1/records/',
      headers: { ...auth, 'content-type': 'application/merge-patch+json' },
      expect: 200,
      prepare () {
        const entry = patchPool.take()
        return {
          path: `/v1/records/${entry.id}`,
          headers: { 'if-match': `"${entry.version}"` },
          body: JSON.stringify({ assignee: `team-${++counter}` }),
          done: (status) => patchPool.release(entry, status === 200)
        }
      }
    },
    list: { method: 'GET', path: '/v1/records?status=open', headers: auth, expect: 200 }
  }
}

/** Sends one operation with the keep-alive client and checks its status. */
export async function sendOperation (client: HttpClient, operation: HttpOperation): Promise<void> {
  if (!operation.prepare) {
    await expectStatus(client.call(operation.method, operation.path, operation.headers, operation.body), operation.expect, `${operation.method} ${operation.path}`)
    return
  }
  const next = operation.prepare()
  const response = await client.call(operation.method, next.path, { ...operation.headers, ...next.headers }, next.body)
  next.done(response.status)
  if (response.status !== operation.expect) throw new Error(`${operation.method} ${next.path}: expected ${operation.expect}, got ${response.status}: ${response.body.slice(0, 300)}`)
}

/** A store client that counts the commands it sends. */
function countingStore (endpoint: string, tableName: string): { store: Store, counts: Map<string, number> } {
  const store = openStore(endpoint, tableName)
  const counts = new Map<string, number>()
  store.client.middlewareStack.add((next, context) => async (args) => {
    counts.set(String(context.commandName), (counts.get(String(context.commandName)) ?? 0) + 1)
    return next(args)
  }, { step: 'initialize', name: 'benchCountCommands' })
  return { store, counts }
}

export const OVERHEAD_TENANT = 'bench-overhead'
const SEEDED = 600

/**
 * Per-request overhead: each API operation through its function bundle with a real token,
 * against the one store operation it stands on done directly with the SDK, and against the
 * data layer called in-process (the same store work without HTTP, Fastify and the token check).
 */
export async function measureRequestOverhead (options: { store: BenchStore, fleet: Fleet, token: string, sizes: Sizes, log: (line: string) => void }): Promise<OperationResult[]> {
  const { store, fleet, token, sizes } = options
  const tenant = OVERHEAD_TENANT
  const seededAt = Date.now()
  const records = [...seededRecords(0, SEEDED, seededAt)]
  await batchWrite(store, store.tableName, map(records, (record) => storedItem(tenant, record)))
  const getTarget = records.find((record) => record.status === 'open')!
  const writable = records.filter((record) => record.status === 'open')
  const pools = {
    function: versionPool(writable.slice(0, 64)),
    dataLayer: versionPool(writable.slice(64, 65)),
    sdk: versionPool(writable.slice(80, 100)),
    minimal: versionPool(writable.slice(100, 164))
  }
  const minimalPort = await freePort()
  const minimal = startChild(benchFile('baselines/minimal-function.ts'), [], {
    PATH: process.env.PATH, PORT: String(minimalPort), DYNAMODB_ENDPOINT: store.endpoint, TABLE_NAME: store.tableName, BENCH_TENANT: tenant
  })
  const minimalUrl = `http://127.0.0.1:${minimalPort}`
  await waitForOk(`${minimalUrl}/healthz`, minimal, performance.now(), { timeoutMs: 60_000, intervalMs: 20 })

  const service = createDataLayer(store, { sink: createEventSink(undefined), log: { warn: () => {} } })
  const context = (): RequestContext => ({ actor: { sub: 'client:bench', clientId: 'bench', tenant }, now: new Date(), requestId: `bench-${uuidv7()}` })
  const operations = httpOperations(token, getTarget.id, pools.function)
  const minimalOperations = httpOperations(token, getTarget.id, pools.minimal)
  const listFilters = { status: ['open' as const], order: 'desc' as const }

  const send = (command: { constructor: new (input: unknown) => unknown, input: unknown }) => store.documents.send(new command.constructor(command.input) as GetCommand)
  const getCommand = await repositoryCommand(store.tableName, (repository) => repository.getStored(tenant, getTarget.id))
  const listCommand = await repositoryCommand(store.tableName, (repository) => repository.list(tenant, listFilters, 25, undefined, new Date()))
  if (!(getCommand instanceof GetCommand) || !(listCommand instanceof QueryCommand)) throw new Error('the repository no longer reads with GetItem / Query; update the benchmark')
  // What a list sends: the first shard's Query as the repository wrote it, for every shard, at once.
  const listQueries = shardsToRead(BENCH_LAYOUT).map((shard) => new QueryCommand({
    ...listCommand.input,
    ExpressionAttributeValues: { ...listCommand.input.ExpressionAttributeValues, ':pk': partitions.byStatus(tenant, 'open', shard) }
  }))
  const sdk: Record<Operation, () => Promise<unknown>> = {
    get: () => send(getCommand),
    create: async () => {
      const record = buildNewRecord(createBody as RecordCreate, uuidv7(), { actor: { sub: 'client:bench', clientId: 'bench', tenant }, now: new Date() })
      const put = await repositoryCommand(store.tableName, (repository) => repository.insert(tenant, record, { version: 1, action: 'created', at: record.createdAt, actor: { type: 'client', id: 'client:bench', clientId: 'bench' }, requestId: 'bench', changes: [] }))
      if (!(put instanceof PutCommand)) throw new Error('the repository no longer creates with PutItem; update the benchmark')
      return send(put)
    },
    update: async () => {
      const entry = pools.sdk.take()
      try {
        await store.documents.send(new UpdateCommand({
          TableName: store.tableName,
          Key: recordKey(tenant, entry.id),
          UpdateExpression: 'SET #assignee = :assignee, #version = :next',
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#assignee': 'assignee', '#version': 'version' },
          ExpressionAttributeValues: { ':assignee': `team-${entry.version}`, ':next': entry.version + 1, ':expected': entry.version }
        }))
        pools.sdk.release(entry, true)
      } catch (error) {
        pools.sdk.release(entry, false)
        throw error
      }
    },
    list: () => Promise.all(listQueries.map((query) => store.documents.send(query)))
  }
  const dataLayer: Record<Operation, () => Promise<unknown>> = {
    get: () => getRecord(service, context(), getTarget.id),
    create: () => createRecord(service, context(), createBody as RecordCreate),
    update: async () => {
      const entry = pools.dataLayer.take()
      await updateRecord(service, context(), entry.id, { assignee: `team-${entry.version}` }, `"${entry.version}"`)
      pools.dataLayer.release(entry, true)
    },
    list: () => listRecords(service, context(), listFilters, 25, undefined)
  }

  // Store operations per call, counted on the data layer (the function runs the same code).
  const counting = countingStore(store.endpoint, store.tableName)
  const countingService = createDataLayer(counting.store, { sink: createEventSink(undefined), log: { warn: () => {} } })
  const countingPool = versionPool(writable.slice(70, 71))
  const countOnce: Record<Operation, () => Promise<unknown>> = {
    get: () => getRecord(countingService, context(), getTarget.id),
    create: () => createRecord(countingService, context(), createBody as RecordCreate),
    update: async () => {
      const entry = countingPool.take()
      await updateRecord(countingService, context(), entry.id, { assignee: `team-${entry.version}` }, `"${entry.version}"`)
      countingPool.release(entry, true)
    },
    list: () => listRecords(countingService, context(), listFilters, 25, undefined)
  }

  const results: OperationResult[] = []
  for (const operation of OPERATIONS) {
    const client = createHttpClient(fleet.url(functionOf[operation]))
    const minimalClient = createHttpClient(minimalUrl)
    try {
      await countOnce[operation]()
      counting.counts.clear()
      await countOnce[operation]()
      const storeOps = Object.fromEntries([...counting.counts].map(([name, count]) => [name.replace(/Command$/, ''), count]))

      const c1 = await measureInterleaved({
        function: () => sendOperation(client, operations[operation]),
        minimal: () => sendOperation(minimalClient, minimalOperations[operation]),
        dataLayer: dataLayer[operation],
        sdk: sdk[operation]
      }, { count: sizes.c1, warmup: sizes.warmup })
      const functionLoad = await measureLoad(client.base, operations[operation], 16, sizes.seconds)
      if (functionLoad.non2xx > 0 || functionLoad.errors > 0) throw new Error(`${operationLabels[operation]} under load: ${functionLoad.non2xx} non-2xx, ${functionLoad.errors} errors`)
      const minimalLoad = await measureLoad(minimalUrl, minimalOperations[operation], 16, sizes.seconds)
      if (minimalLoad.non2xx > 0 || minimalLoad.errors > 0) throw new Error(`minimal ${operationLabels[operation]} under load: ${minimalLoad.non2xx} non-2xx, ${minimalLoad.errors} errors`)
      const sdkLoad = await measureClosedLoop(16, sizes.seconds * 1000, sdk[operation])
      if (sdkLoad.errors > 0) throw new Error(`${sdkLabels[operation]} under load: ${sdkLoad.errors} errors`)
      results.push({ operation, c1, c16: { function: functionLoad, minimal: minimalLoad, sdk: sdkLoad }, storeOps })
      options.log(`overhead: ${operationLabels[operation]} p50 ${c1.function.p50.toFixed(2)} ms vs SDK ${c1.sdk.p50.toFixed(2)} ms; ${functionLoad.perSecond.toFixed(0)} vs ${sdkLoad.perSecond.toFixed(0)} /s at 16`)
    } finally {
      client.close()
      minimalClient.close()
    }
  }
  counting.store.client.destroy()
  await minimal.stop()
  return results
}
