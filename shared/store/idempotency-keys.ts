import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { IdempotencyKeyReusedError } from '../errors.ts'
import type { SecurityRecord } from '../records/schema.ts'
import type { Store } from './client.ts'
import { expressions } from './expressions.ts'
import { idempotencyKey, ttlAttribute } from './keys.ts'
import { isConditionFailed, storeCall, unlessConditionFails } from './store-errors.ts'

/** How long a key is remembered (IETF draft: at least 24 h is a sensible default). */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 60 * 60

export type IdempotencyClaim =
  | { kind: 'new' }
  | { kind: 'completed', record: SecurityRecord }
  | { kind: 'pending', recordId: string, startedAt: string }

interface IdempotencyItem {
  requestHash: string
  recordId: string
  state: 'pending' | 'completed'
  startedAt: string
  record?: SecurityRecord
  [ttlAttribute]: number
}

/**
 * Idempotency-Key for create: the first request with a key claims it (conditional put) and
 * names the record id it will create; a retry with the same body gets the stored response,
 * a different body is a 422. Expiry is compared on read, never left to TTL deletion.
 */
export interface IdempotencyKeys {
  /** Claims the key for a create that will write `recordId`, or tells what an earlier use of it did. */
  claim (tenant: string, clientId: string, key: string, requestHash: string, recordId: string, now: Date, takeOver?: { startedAt: string }): Promise<IdempotencyClaim>
  /** Frees the key after the create failed, so a corrected retry can use it. */
  release (tenant: string, clientId: string, key: string, recordId: string): Promise<void>
  /** Stores the response of the create, for retries to replay. */
  complete (tenant: string, clientId: string, key: string, record: SecurityRecord): Promise<void>
}

export function createIdempotencyKeys ({ documents, tableName }: Store): IdempotencyKeys {
  const epoch = (date: Date) => Math.floor(date.getTime() / 1000)

  return {
    async claim (tenant, clientId, key, requestHash, recordId, now, takeOver) {
      try {
        await storeCall(() => documents.send(new PutCommand({
          TableName: tableName,
          Item: {
            ...idempotencyKey(tenant, clientId, key),
            tenant,
            requestHash,
            recordId,
            state: 'pending',
            startedAt: now.toISOString(),
            [ttlAttribute]: epoch(now) + IDEMPOTENCY_KEY_TTL_SECONDS
          },
          ...(takeOver
            // Take over an abandoned claim, only the one we inspected.
            ? expressions({ ConditionExpression: '#state = :pending AND startedAt = :startedAt' }, { pending: 'pending', startedAt: takeOver.startedAt })
            // First use of the key, or the previous use has expired (TTL deletes late).
            : expressions({ ConditionExpression: 'attribute_not_exists(pk) OR #expires < :now' }, { now: epoch(now) }, { expires: ttlAttribute }))
        })))
        return { kind: 'new' }
      } catch (error) {
        if (!isConditionFailed(error)) throw error
      }
      const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: idempotencyKey(tenant, clientId, key), ConsistentRead: true })))
      const item = Item as IdempotencyItem | undefined
      if (!item) return { kind: 'pending', recordId, startedAt: now.toISOString() }
      if (item.requestHash !== requestHash) throw new IdempotencyKeyReusedError()
      if (item.state === 'completed' && item.record) return { kind: 'completed', record: item.record }
      return { kind: 'pending', recordId: item.recordId, startedAt: item.startedAt }
    },

    async release (tenant, clientId, key, recordId) {
      await unlessConditionFails(() => documents.send(new DeleteCommand({
        TableName: tableName,
        Key: idempotencyKey(tenant, clientId, key),
        // Only our own pending claim: never a completed one, never someone else's.
        ...expressions({ ConditionExpression: 'recordId = :recordId AND #state = :pending' }, { recordId, pending: 'pending' })
      })))
    },

    async complete (tenant, clientId, key, record) {
      await storeCall(() => documents.send(new UpdateCommand({
        TableName: tableName,
        Key: idempotencyKey(tenant, clientId, key),
        ...expressions({
          UpdateExpression: 'SET #state = :completed, #record = :record',
          // Complete only the claim that created this record.
          ConditionExpression: 'recordId = :recordId'
        }, { completed: 'completed', record, recordId: record.id })
      })))
    }
  }
}
