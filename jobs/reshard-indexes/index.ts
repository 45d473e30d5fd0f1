/**
 * Moves a table to another index layout (docs/sizing.md): `INDEX_SHARDS=16 node jobs/reshard-indexes/index.ts`.
 * Tables made before sharding record no layout and keep working unsharded; this job shards them.
 *
 * 1. Records the new layout, still reading the old one (`alsoRead`): from then on every function
 *    writes the new keys and lists read both.
 * 2. Waits until every function has re-read the layout (they trust it for LAYOUT_CACHE_MS).
 * 3. Rewrites the index keys of every record still in an old layout, one conditional update each,
 *    pass after pass until a pass finds none.
 * 4. Records the new layout alone: lists stop reading the old partitions.
 *
 * Step 3 is a Scan of the table: a maintenance job that must find every tenant's items, never a
 * request path (those Query). Idempotent: a second run, or a run after a crash, carries on.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { Type, type Static } from 'typebox'
import { loadSettings } from '../../shared/config.ts'
import { storeSettings } from '../create-table/index.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'
import { createStore, type Store } from '../../shared/store/client.ts'
import { LAYOUT_CACHE_MS, readRecordedLayout, writeIndexLayout } from '../../shared/store/index-layout.ts'
import { indexes, MAX_INDEX_SHARDS, recordIndexAttributes, recordKey, type IndexLayout } from '../../shared/store/keys.ts'
import { storeCall, unlessConditionFails } from '../../shared/store/store-errors.ts'

export const ReshardConfigSchema = Type.Object({
  ...storeSettings,
  INDEX_SHARDS: Type.Integer({ minimum: 1, maximum: MAX_INDEX_SHARDS, description: 'The shard count to move the table to.' }),
  RESHARD_SETTLE_MS: Type.Integer({ minimum: 0, default: 2 * LAYOUT_CACHE_MS, description: 'Wait after recording the new layout, so every function writes it before old items are rewritten.' })
})
export type ReshardConfig = Static<typeof ReshardConfigSchema>

const MAX_PASSES = 5

export interface ReshardOutcome { from: IndexLayout, to: IndexLayout, rewritten: number, passes: number }

export async function reshardIndexes (store: Store, shards: number, { settleMs = 2 * LAYOUT_CACHE_MS } = {}): Promise<ReshardOutcome> {
  let recorded = await readRecordedLayout(store)
  const from = recorded.layout
  if (from.shards !== shards) {
    const alsoRead = [...new Set([...from.alsoRead, from.shards])].filter((count) => count !== shards)
    recorded = await writeIndexLayout(store, { shards, alsoRead }, recorded.revision)
    await sleep(settleMs)
  }
  let rewritten = 0
  let passes = 0
  if (recorded.layout.alsoRead.length > 0) {
    for (let found = -1; found !== 0; passes++) {
      if (passes === MAX_PASSES) throw new Error(`records kept arriving in an old layout after ${MAX_PASSES} passes: is a function still running an old version?`)
      found = await rewritePass(store, recorded.layout)
      rewritten += found
    }
    recorded = await writeIndexLayout(store, { shards, alsoRead: [] }, recorded.revision)
  }
  return { from, to: recorded.layout, rewritten, passes }
}

/** One Scan of the live record items; each whose index keys are not the layout's gets them. Returns how many. */
async function rewritePass ({ documents, tableName }: Store, layout: IndexLayout): Promise<number> {
  let rewritten = 0
  let after: Record<string, unknown> | undefined
  do {
    const page = await storeCall(() => documents.send(new ScanCommand({
      TableName: tableName,
      // Live records only: tombstones have no index keys, guards and history entries never had.
      FilterExpression: 'sk = :record AND attribute_exists(#tenantPk)',
      ExpressionAttributeNames: { '#tenantPk': indexes.byTenant.pk },
      ExpressionAttributeValues: { ':record': recordKey('t', 'r').sk },
      ...(after ? { ExclusiveStartKey: after } : {})
    })))
    for (const item of page.Items ?? []) {
      const wanted = recordIndexAttributes(String(item.tenant), item as unknown as SecurityRecord, layout)
      const changed = Object.entries(wanted).filter(([name, value]) => item[name] !== value)
      if (changed.length === 0) continue
      await unlessConditionFails(() => documents.send(new UpdateCommand({
        TableName: tableName,
        Key: { pk: item.pk, sk: item.sk },
        UpdateExpression: `SET ${changed.map((_, i) => `#a${i} = :a${i}`).join(', ')}`,
        // Only the version we read: a newer write already carries the new layout's keys.
        ConditionExpression: '#version = :version AND attribute_not_exists(deleted)',
        ExpressionAttributeNames: { '#version': 'version', ...Object.fromEntries(changed.map(([name], i) => [`#a${i}`, name])) },
        ExpressionAttributeValues: { ':version': item.version, ...Object.fromEntries(changed.map(([, value], i) => [`:a${i}`, value])) }
      })))
      rewritten++
    }
    after = page.LastEvaluatedKey
  } while (after)
  return rewritten
}

if (import.meta.main) {
  const config = loadSettings(ReshardConfigSchema, process.env)
  const store = createStore(config)
  try {
    const outcome = await reshardIndexes(store, config.INDEX_SHARDS, { settleMs: config.RESHARD_SETTLE_MS })
    console.log(JSON.stringify({ level: 'info', msg: 'index layout resharded', table: config.TABLE_NAME, ...outcome }))
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'reshard-indexes failed', error: (error as Error).message, name: (error as Error).name }))
    process.exitCode = 1
  } finally {
    store.client.destroy()
  }
}
