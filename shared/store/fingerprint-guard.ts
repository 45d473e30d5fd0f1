import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { duplicateFingerprint } from '../errors.ts'
import type { Store } from './client.ts'
import { batchGet } from './batch.ts'
import { retryOnConflict } from '../retry-on-conflict.ts'
import { expressions } from './expressions.ts'
import { fingerprintKey } from './keys.ts'
import { isConditionFailed, storeCall, unlessConditionFails } from './store-errors.ts'

/** How long a claim may stand without its record before another writer may take it over. */
export const FINGERPRINT_CLAIM_LEASE_MS = 30_000

/**
 * Fingerprints are unique per tenant without transactions: before a record takes a fingerprint,
 * it claims a guard item keyed by (tenant, fingerprint) with a conditional put. Exactly one of
 * two concurrent writers wins the claim; the other learns which record holds it. A claim left
 * behind by a writer that died is taken over once its lease ran out and its record does not
 * hold the fingerprint.
 */
export interface FingerprintGuard {
  /**
   * Claims the fingerprint for recordId, or throws 409 naming the record that holds it.
   * `holdsFingerprint` tells whether a record exists and still carries this fingerprint.
   */
  claim (tenant: string, fingerprint: string, recordId: string, now: Date, holdsFingerprint: (recordId: string) => Promise<boolean>): Promise<void>
  /** Gives the fingerprint up, if recordId still holds it. */
  release (tenant: string, fingerprint: string, recordId: string): Promise<void>
  /** The record holding a fingerprint (claims still within their lease included). */
  holder (tenant: string, fingerprint: string): Promise<string | undefined>
  /** The records holding several fingerprints at once (a batch read); fingerprints nobody holds are absent. */
  holders (tenant: string, fingerprints: readonly string[]): Promise<Map<string, string>>
}

export function createFingerprintGuard (store: Store): FingerprintGuard {
  const { documents, tableName } = store
  async function read (tenant: string, fingerprint: string) {
    const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: fingerprintKey(tenant, fingerprint), ConsistentRead: true })))
    return Item as { recordId: string, claimedAt: string } | undefined
  }

  async function put (tenant: string, fingerprint: string, recordId: string, now: Date, replacing?: { recordId: string, claimedAt: string }) {
    await storeCall(() => documents.send(new PutCommand({
      TableName: tableName,
      Item: { ...fingerprintKey(tenant, fingerprint), tenant, recordId, claimedAt: now.toISOString() },
      ...(replacing
        // Take over only the stale claim we inspected, not one somebody made since.
        ? expressions({ ConditionExpression: 'recordId = :staleId AND claimedAt = :staleAt' }, { staleId: replacing.recordId, staleAt: replacing.claimedAt })
        // Claim: nobody holds this fingerprint yet (or this record already does).
        : expressions({ ConditionExpression: 'attribute_not_exists(pk) OR recordId = :recordId' }, { recordId }))
    })))
  }

  return {
    async claim (tenant, fingerprint, recordId, now, holdsFingerprint) {
      // A failed condition: the claim changed hands between our read and our write; look again.
      const exhausted = async () => duplicateFingerprint((await read(tenant, fingerprint))?.recordId ?? 'unknown')
      await retryOnConflict({ attempts: 3, isConflict: isConditionFailed, exhausted }, async () => {
        try {
          return await put(tenant, fingerprint, recordId, now)
        } catch (error) {
          if (!isConditionFailed(error)) throw error
          const holder = await read(tenant, fingerprint)
          // Released since: claim it afresh.
          if (!holder) throw error
          if (holder.recordId === recordId) return
          const fresh = now.getTime() - Date.parse(holder.claimedAt) < FINGERPRINT_CLAIM_LEASE_MS
          if (fresh || await holdsFingerprint(holder.recordId)) throw duplicateFingerprint(holder.recordId)
          await put(tenant, fingerprint, recordId, now, holder)
        }
      })
    },

    async release (tenant, fingerprint, recordId) {
      await unlessConditionFails(() => documents.send(new DeleteCommand({
        TableName: tableName,
        Key: fingerprintKey(tenant, fingerprint),
        // Release only our own claim; another record may have taken the fingerprint since.
        ...expressions({ ConditionExpression: 'recordId = :recordId' }, { recordId })
      })))
    },

    async holder (tenant, fingerprint) {
      return (await read(tenant, fingerprint))?.recordId
    },

    async holders (tenant, fingerprints) {
      const byPartition = new Map(fingerprints.map((fingerprint) => [fingerprintKey(tenant, fingerprint).pk, fingerprint]))
      const items = await batchGet(store, fingerprints.map((fingerprint) => fingerprintKey(tenant, fingerprint)))
      return new Map(items.map((item) => [byPartition.get(String(item.pk))!, String(item.recordId)]))
    }
  }
}
