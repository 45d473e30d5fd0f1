import { setTimeout as sleep } from 'node:timers/promises'
import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb'
import { storeUnavailable } from '../errors.ts'
import type { Store } from './client.ts'
import type { ItemKey } from './keys.ts'
import { storeCall } from './store-errors.ts'

/** The store's limits per request (DynamoDB BatchGetItem / BatchWriteItem). */
export const GET_KEYS_PER_REQUEST = 100
const PUT_ITEMS_PER_REQUEST = 25
/** Rounds a batch gets for what the store left unprocessed (throttling, the 16 MB answer limit). */
const MAX_ROUNDS = 8

/**
 * Items by key, read consistently in as few BatchGetItem requests as the limits allow. Keys the
 * store left unprocessed are asked again with backoff, as DynamoDB's documentation requires.
 */
export async function batchGet ({ documents, tableName }: Store, keys: readonly ItemKey[]): Promise<Array<Record<string, unknown>>> {
  const found: Array<Record<string, unknown>> = []
  for (let start = 0; start < keys.length; start += GET_KEYS_PER_REQUEST) {
    let pending: Array<Record<string, unknown>> = keys.slice(start, start + GET_KEYS_PER_REQUEST).map(({ pk, sk }) => ({ pk, sk }))
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_ROUNDS) throw storeUnavailable(new Error(`BatchGetItem left ${pending.length} keys unprocessed ${MAX_ROUNDS} times`))
      if (round > 0) await sleep(backoffMs(round))
      const { Responses, UnprocessedKeys } = await storeCall(() => documents.send(new BatchGetCommand({
        // Read-your-writes, as every read that decides a write.
        RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } }
      })))
      found.push(...(Responses?.[tableName] ?? []))
      pending = UnprocessedKeys?.[tableName]?.Keys ?? []
    }
  }
  return found
}

/**
 * Puts items unconditionally (BatchWriteItem has no conditions), 25 a request, the requests side
 * by side: a chunk's history (at most 100 entries) is one round trip, not four, while the
 * import's next writes wait for it. Only for items whose content is settled before they are
 * written, so that writing one again changes nothing, in any order. A failure is thrown once
 * every request has ended (nothing keeps writing behind it).
 */
export async function batchPut (store: Store, items: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  await batchWrite(store, items.map((Item) => ({ PutRequest: { Item } })))
}

/** Deletes items by key, as `batchPut` puts them: deleting one that is gone already changes nothing. */
export async function batchDelete (store: Store, keys: readonly ItemKey[]): Promise<void> {
  await batchWrite(store, keys.map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } })))
}

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } }

async function batchWrite (store: Store, writes: readonly WriteRequest[]): Promise<void> {
  const requests: Array<Promise<void>> = []
  for (let start = 0; start < writes.length; start += PUT_ITEMS_PER_REQUEST) requests.push(writeBatch(store, writes.slice(start, start + PUT_ITEMS_PER_REQUEST)))
  const failure = (await Promise.allSettled(requests)).find((outcome) => outcome.status === 'rejected')
  if (failure) throw failure.reason
}

async function writeBatch ({ documents, tableName }: Store, writes: readonly WriteRequest[]): Promise<void> {
  let pending = [...writes]
  for (let round = 0; pending.length > 0; round++) {
    if (round === MAX_ROUNDS) throw storeUnavailable(new Error(`BatchWriteItem left ${pending.length} items unprocessed ${MAX_ROUNDS} times`))
    if (round > 0) await sleep(backoffMs(round))
    const { UnprocessedItems } = await storeCall(() => documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } })))
    pending = (UnprocessedItems?.[tableName] ?? []) as typeof pending
  }
}

/** Exponential backoff with full jitter: 25 ms, 50 ms, … up to 1.6 s. */
function backoffMs (round: number): number {
  return Math.random() * 25 * 2 ** Math.min(round, 6)
}
