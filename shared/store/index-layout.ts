import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import type { Store } from './client.ts'
import { layoutKey, MAX_INDEX_SHARDS, UNSHARDED, type IndexLayout } from './keys.ts'
import { storeCall } from './store-errors.ts'

/** How long a function trusts the layout it read: a reshard job waits longer than this between its steps. */
export const LAYOUT_CACHE_MS = 30_000

const isShardCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_INDEX_SHARDS

/** A layout as recorded: `revision` counts its changes; 0 is a table that has none recorded. */
export interface RecordedLayout { layout: IndexLayout, revision: number }

/** The table's recorded layout; a table without one predates sharding and is read as unsharded. */
export async function readRecordedLayout ({ documents, tableName }: Store): Promise<RecordedLayout> {
  const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: layoutKey, ConsistentRead: true })))
  if (!Item) return { layout: UNSHARDED, revision: 0 }
  const { shards, alsoRead, revision } = Item
  if (!isShardCount(shards) || !Array.isArray(alsoRead) || !alsoRead.every(isShardCount) || !Number.isInteger(revision)) {
    throw new Error(`table ${tableName} records an invalid index layout: ${JSON.stringify({ shards, alsoRead, revision })}`)
  }
  return { layout: { shards, alsoRead }, revision }
}

/**
 * Records `layout` over the revision the caller read, as the next revision. The write fails when
 * someone changed the layout since, so two jobs cannot interleave their steps.
 */
export async function writeIndexLayout ({ documents, tableName }: Store, layout: IndexLayout, over: number): Promise<RecordedLayout> {
  await storeCall(() => documents.send(new PutCommand({
    TableName: tableName,
    Item: { ...layoutKey, shards: layout.shards, alsoRead: layout.alsoRead, revision: over + 1 },
    // Compare-and-set: only over the layout revision this step started from.
    ...(over === 0
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : { ConditionExpression: 'revision = :over', ExpressionAttributeValues: { ':over': over } })
  })))
  return { layout, revision: over + 1 }
}

/** The layout as a function sees it: read on first use, then again once LAYOUT_CACHE_MS has passed. */
export function createLayoutReader (store: Store, cacheMs = LAYOUT_CACHE_MS): () => Promise<IndexLayout> {
  let cached: { layout: Promise<IndexLayout>, at: number } | undefined
  return () => {
    const now = Date.now()
    if (!cached || now - cached.at > cacheMs) {
      const layout = readRecordedLayout(store).then((recorded) => recorded.layout)
      cached = { layout, at: now }
      // A failed read is not cached: the next call tries again.
      layout.catch(() => { if (cached?.layout === layout) cached = undefined })
    }
    return cached.layout
  }
}
