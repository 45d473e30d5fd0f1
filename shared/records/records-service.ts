import { createHash } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import { IdempotencyInProgressError, invalidFields, PreconditionFailedError } from '../errors.ts'
import type { ListFilters } from '../store/list-plan.ts'
import type { createStoreModules } from '../store/index.ts'
import { acceptedVersions, etagOf } from './etag.ts'
import { applyRecordPatch, buildNewRecord, type Actor } from './model.ts'
import type { RecordCreate, RecordPatch, SecurityRecord } from './schema.ts'

/** Who asks, and when: everything a write needs besides its input. */
export interface RequestContext {
  actor: Actor
  now: Date
}

export interface CreateOutcome {
  record: SecurityRecord
  /** True when an Idempotency-Key retry got the original response back. */
  replayed: boolean
}

/** How long an unfinished Idempotency-Key claim blocks retries before it counts as abandoned. */
const IDEMPOTENCY_CLAIM_LEASE_MS = 30_000

/**
 * The record operations the functions expose, composed from the data layer: model rules,
 * conditional writes, the fingerprint guard and idempotency keys. Handlers call one method each.
 */
export function createRecordsService ({ records, fingerprints, idempotency }: ReturnType<typeof createStoreModules>) {
  async function assertDuplicateTarget (tenant: string, record: SecurityRecord, previous?: SecurityRecord) {
    if (!record.duplicateOf || record.duplicateOf === previous?.duplicateOf) return
    if (!(await records.get(tenant, record.duplicateOf))) {
      throw invalidFields([{ path: '/duplicateOf', message: `no record with id ${record.duplicateOf}` }])
    }
  }

  const holdsFingerprint = (tenant: string, fingerprint: string) => async (recordId: string) =>
    (await records.get(tenant, recordId))?.fingerprint === fingerprint

  async function insertNew (context: RequestContext, record: SecurityRecord) {
    const { tenant } = context.actor
    await assertDuplicateTarget(tenant, record)
    if (record.fingerprint) await fingerprints.claim(tenant, record.fingerprint, record.id, context.now, holdsFingerprint(tenant, record.fingerprint))
    try {
      await records.insert(tenant, record)
    } catch (error) {
      if (record.fingerprint) await fingerprints.release(tenant, record.fingerprint, record.id)
      throw error
    }
  }

  return {
    async create (context: RequestContext, input: RecordCreate, idempotencyKey?: string): Promise<CreateOutcome> {
      const { tenant, clientId } = context.actor
      let record = buildNewRecord(input, uuidv7(), context)
      if (idempotencyKey === undefined) {
        await insertNew(context, record)
        return { record, replayed: false }
      }

      const requestHash = hashRequest(input)
      let claim = await idempotency.claim(tenant, clientId, idempotencyKey, requestHash, record.id, context.now)
      if (claim.kind === 'completed') return { record: claim.record, replayed: true }
      if (claim.kind === 'pending') {
        // The first request may have written its record and died before completing the key.
        const written = await records.get(tenant, claim.recordId)
        if (written) {
          await idempotency.complete(tenant, clientId, idempotencyKey, written)
          return { record: written, replayed: true }
        }
        if (context.now.getTime() - Date.parse(claim.startedAt) < IDEMPOTENCY_CLAIM_LEASE_MS) throw new IdempotencyInProgressError()
        record = { ...record, id: claim.recordId }
        claim = await idempotency.claim(tenant, clientId, idempotencyKey, requestHash, record.id, context.now, { startedAt: claim.startedAt })
        if (claim.kind !== 'new') throw new IdempotencyInProgressError()
      }
      try {
        await insertNew(context, record)
      } catch (error) {
        await idempotency.release(tenant, clientId, idempotencyKey, record.id)
        throw error
      }
      await idempotency.complete(tenant, clientId, idempotencyKey, record)
      return { record, replayed: false }
    },

    async get (context: RequestContext, id: string): Promise<SecurityRecord> {
      return records.getOrThrow(context.actor.tenant, id)
    },

    async list (context: RequestContext, filters: ListFilters, limit: number, after: string | undefined) {
      return records.list(context.actor.tenant, filters, limit, after, context.now)
    },

    async update (context: RequestContext, id: string, patch: RecordPatch, ifMatch: string | undefined): Promise<SecurityRecord> {
      const { tenant } = context.actor
      const versions = acceptedVersions(ifMatch)
      const current = await records.getOrThrow(tenant, id)
      if (!versions.includes(current.version)) throw new PreconditionFailedError(etagOf(current))
      const next = applyRecordPatch(current, patch, context)
      if (next === current) return current
      await assertDuplicateTarget(tenant, next, current)
      const newFingerprint = next.fingerprint !== current.fingerprint ? next.fingerprint : undefined
      if (newFingerprint) await fingerprints.claim(tenant, newFingerprint, id, context.now, holdsFingerprint(tenant, newFingerprint))
      try {
        await records.replace(tenant, next, current.version)
      } catch (error) {
        if (newFingerprint) await fingerprints.release(tenant, newFingerprint, id)
        throw error
      }
      if (current.fingerprint && current.fingerprint !== next.fingerprint) await fingerprints.release(tenant, current.fingerprint, id)
      return next
    },

    async remove (context: RequestContext, id: string, ifMatch: string | undefined): Promise<SecurityRecord> {
      const { tenant } = context.actor
      let expectedVersion: number | undefined
      if (ifMatch !== undefined) {
        const versions = acceptedVersions(ifMatch)
        const current = await records.getOrThrow(tenant, id)
        if (!versions.includes(current.version)) throw new PreconditionFailedError(etagOf(current))
        expectedVersion = current.version
      }
      const removed = await records.remove(tenant, id, expectedVersion)
      if (removed.fingerprint) await fingerprints.release(tenant, removed.fingerprint, id)
      return removed
    }
  }
}

export type RecordsService = ReturnType<typeof createRecordsService>

/** Same body, same hash, whatever the order of its keys. */
function hashRequest (body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url')
}

function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`
  }
  return JSON.stringify(value)
}
