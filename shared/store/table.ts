import {
  CreateTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand,
  type CreateTableCommandInput, type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb'
import type { Store } from './client.ts'
import { readRecordedLayout, writeIndexLayout } from './index-layout.ts'
import { DEFAULT_INDEX_SHARDS, healthProbeKey, indexes, ttlAttribute, type IndexLayout } from './keys.ts'
import { isConditionFailed, storeCall } from './store-errors.ts'

/** The table and its indexes, used by the local stack, the tests and the cluster's bootstrap Job. */
export function tableDefinition (tableName: string): CreateTableCommandInput {
  const indexSpecs = Object.values(indexes)
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      ...indexSpecs.flatMap((index) => [
        { AttributeName: index.pk, AttributeType: 'S' as const },
        { AttributeName: index.sk, AttributeType: 'S' as const }
      ])
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' }
    ],
    GlobalSecondaryIndexes: indexSpecs.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.pk, KeyType: 'HASH' },
        { AttributeName: index.sk, KeyType: 'RANGE' }
      ],
      Projection: { ProjectionType: 'ALL' }
    }))
  }
}

export interface EnsureTableResult {
  created: boolean
  ttl: 'enabled' | 'unsupported' | 'already'
  /** The index layout the table records: `indexShards` for a new table; an existing table keeps its own. */
  layout: IndexLayout
}

/**
 * Creates the table when it is missing and waits until it and its indexes are active.
 * Safe to run any number of times, concurrently too. TTL is switched on where the store has it
 * (dynalite has not); correctness never depends on it, reads compare the expiry themselves.
 * A new table records its index layout with `indexShards` shards; an existing table's layout is
 * left as it is (one made before sharding stays unsharded until `jobs/reshard-indexes` runs).
 */
export async function ensureTable (client: DynamoDBClient, tableName: string, { timeoutMs = 60_000, indexShards = DEFAULT_INDEX_SHARDS } = {}): Promise<EnsureTableResult> {
  let created = false
  if (!(await describe(client, tableName))) {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)))
      created = true
    } catch (error) {
      if ((error as Error).name !== 'ResourceInUseException') throw error
    }
  }
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const table = await describe(client, tableName)
    const active = table?.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')
    if (active) {
      const present = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName))
      const missing = Object.values(indexes).filter((index) => !present.has(index.name)).map((index) => index.name)
      if (missing.length > 0) throw new Error(`table ${tableName} exists but lacks the indexes ${missing.join(', ')}`)
      break
    }
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become active within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const ttl = await enableTtl(client, tableName)
  return { created, ttl, layout: await recordLayoutOfNewTable(client, tableName, created, indexShards) }
}

/** Only the process that created the table records its layout: no item can have been written under another yet. */
async function recordLayoutOfNewTable (client: DynamoDBClient, tableName: string, created: boolean, indexShards: number): Promise<IndexLayout> {
  const store = { client, documents: DynamoDBDocumentClient.from(client), tableName }
  if (created) {
    try {
      return (await writeIndexLayout(store, { shards: indexShards, alsoRead: [] }, 0)).layout
    } catch (error) {
      if (!isConditionFailed(error)) throw error
    }
  }
  return (await readRecordedLayout(store)).layout
}

async function describe (client: DynamoDBClient, tableName: string) {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined
    throw error
  }
}

async function enableTtl (client: DynamoDBClient, tableName: string): Promise<EnsureTableResult['ttl']> {
  try {
    await client.send(new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true }
    }))
    return 'enabled'
  } catch (error) {
    const message = (error as Error).message ?? ''
    if (/already enabled/i.test(message)) return 'already'
    return 'unsupported'
  }
}

/** Health: a point read of a key that never exists; a 503 when the store cannot answer. */
export async function pingStore ({ documents, tableName }: Store): Promise<void> {
  await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: healthProbeKey })))
}
