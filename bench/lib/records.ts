import { createHash } from 'node:crypto'
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { v7 as uuidv7 } from 'uuid'
import type { RecordChange } from '../../shared/records/change.ts'
import { buildNewRecord } from '../../shared/records/model.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'
import type { Store } from '../../shared/store/client.ts'
import { DEFAULT_INDEX_SHARDS, layoutKey, type IndexLayout } from '../../shared/store/keys.ts'
import { settledRecordItem } from '../../shared/store/record-items.ts'
import { createRecordsRepository, type RecordsRepository } from '../../shared/store/records-repository.ts'

/** The create body every write benchmark sends: a typical scanner finding, no fingerprint. */
export const createBody = {
  title: 'Outdated OpenSSL in base image',
  category: 'vulnerability',
  severity: 'high',
  asset: { name: 'payments-api', type: 'container_image', environment: 'production' },
  vulnerabilityIds: ['CVE-2024-5535'],
  tags: ['bench', 'base-image'],
  source: { tool: 'trivy', ruleId: 'CVE-2024-5535' }
}

/** A status filter with a handful of matches per tenant, whatever its size: the Scan worst case. */
export const RARE_STATUS = 'false_positive'
export const RARE_PER_TENANT = 5

/** Seeded records are one second apart, record 0 this long ago (later ones newer). */
const SEED_SPAN_MS = 200_000 * 1000

/**
 * Record number `index` of a seeded tenant: half open, the rest spread over the workflow, and
 * RARE_PER_TENANT false positives among the first thousand. Built by the model itself, so it is
 * a valid record; record n is created n seconds after record 0.
 */
export function seededRecord (index: number, seededAt: number, idSeed = ''): SecurityRecord {
  const createdAt = new Date(seededAt - SEED_SPAN_MS + index * 1000)
  const rare = index < 200 * RARE_PER_TENANT && index % 200 === 1
  const bucket = index % 20
  const status = rare ? RARE_STATUS : bucket < 10 ? 'open' : bucket < 14 ? 'triaged' : bucket < 17 ? 'in_progress' : 'resolved'
  const input = {
    ...createBody,
    title: `${createBody.title} #${index}`,
    severity: (['critical', 'high', 'medium', 'low', 'info'] as const)[index % 5]!,
    asset: { ...createBody.asset, name: `service-${index % 50}` },
    status,
    ...(status === RARE_STATUS ? { statusReason: 'not reachable from the internet' } : {})
  }
  const context = { actor: { sub: 'client:seed', clientId: 'seed', tenant: 'seed' }, now: createdAt }
  // Deterministic ids: the same record number (and seed) is the same record in every layout.
  const random = createHash('sha256').update(`${idSeed}#${index}`).digest().subarray(0, 16)
  return buildNewRecord(input as Parameters<typeof buildNewRecord>[0], uuidv7({ msecs: createdAt.getTime(), random }), context)
}

/** The layout of a bench store's table (startBenchStore creates it with the default). */
export const BENCH_LAYOUT: IndexLayout = { shards: DEFAULT_INDEX_SHARDS, alsoRead: [] }

/**
 * The item the data layer would store for a record (the repository's own `settledRecordItem`), settled
 * as `markHistoryWritten` leaves it: no outbox entry owed. No key format is spelled here.
 */
export function storedItem (tenant: string, record: SecurityRecord, layout = BENCH_LAYOUT): Record<string, unknown> {
  const change: RecordChange = { version: record.version, action: 'created', at: record.createdAt, actor: { type: 'client', id: record.createdBy, clientId: 'seed' }, requestId: 'seed', changes: [] }
  return settledRecordItem(tenant, record, change, layout)
}

/**
 * Writes items with BatchWriteItem, 25 a request, `parallel` requests in flight, retrying
 * unprocessed items: the fast way to a big tenant.
 */
export async function batchWrite (store: Store, tableName: string, items: Iterable<Record<string, unknown>>, parallel = 4): Promise<number> {
  const iterator = items[Symbol.iterator]()
  let written = 0
  const nextBatch = () => {
    const batch: Record<string, unknown>[] = []
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      batch.push(next.value)
      if (batch.length === 25) break
    }
    return batch
  }
  const worker = async () => {
    for (let batch = nextBatch(); batch.length > 0; batch = nextBatch()) {
      let requests = batch.map((Item) => ({ PutRequest: { Item } }))
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 10) throw new Error('BatchWriteItem kept leaving items unprocessed')
        const { UnprocessedItems } = await store.documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }))
        requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests
        if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)))
      }
      written += batch.length
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return written
}

/** Records number `from` up to (not including) `to` of a seeded tenant; `idSeed` tells tenants' ids apart. */
export function* seededRecords (from: number, to: number, seededAt: number, idSeed = ''): Generator<SecurityRecord> {
  for (let index = from; index < to; index++) yield seededRecord(index, seededAt, idSeed)
}

export function* map<T, U> (values: Iterable<T>, mapper: (value: T) => U): Generator<U> {
  for (const value of values) yield mapper(value)
}

/**
 * The first command a repository method sends, taken from a client that only records it (and
 * answers the repository's read of the table's index layout with `layout`).
 */
export async function repositoryCommand (tableName: string, run: (repository: RecordsRepository) => Promise<unknown>, layout = BENCH_LAYOUT): Promise<{ constructor: new (input: unknown) => unknown, input: unknown }> {
  let command: { constructor: new (input: unknown) => unknown, input: unknown } | undefined
  const layoutItem = { ...layoutKey, ...layout, revision: 1 }
  const isLayoutRead = (sent: { input: unknown }) => JSON.stringify((sent.input as { Key?: unknown }).Key) === JSON.stringify(layoutKey)
  const capture = {
    send: (sent: NonNullable<typeof command>) => {
      if (isLayoutRead(sent)) return Promise.resolve({ Item: layoutItem })
      command ??= sent
      return Promise.resolve({})
    }
  }
  await run(createRecordsRepository({ documents: capture as unknown as DynamoDBDocumentClient, tableName } as Store)).catch(() => {})
  if (!command) throw new Error('the repository sent no command')
  return command
}
