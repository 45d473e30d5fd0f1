import { createHash } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import { IdempotencyInProgressError, IdempotentRecordDeletedError } from '../errors.ts'
import { buildNewRecord } from '../records/model.ts'
import type { RecordCreate, SecurityRecord } from '../records/schema.ts'
import type { DataLayer } from './data-layer.ts'
import { insertRecord } from './record-writes.ts'
import type { RequestContext } from './request-context.ts'

export interface CreateOutcome {
  record: SecurityRecord
  /** True when an Idempotency-Key retry got the original response back. */
  replayed: boolean
}

/** How long an unfinished Idempotency-Key claim blocks retries before it counts as abandoned. */
const IDEMPOTENCY_CLAIM_LEASE_MS = 30_000

/**
 * Creates version 1 of a record in the caller's tenant. With an Idempotency-Key, the first
 * request claims the key and names the id it will write, so a retry (even after a crash between
 * the write and the key's completion) gets the same record back instead of a second one.
 */
export async function createRecord (data: DataLayer, context: RequestContext, input: RecordCreate, idempotencyKey?: string): Promise<CreateOutcome> {
  const { tenant, clientId } = context.actor
  let record = buildNewRecord(input, uuidv7(), context)
  if (idempotencyKey === undefined) {
    await insertRecord(data, context, record)
    return { record, replayed: false }
  }

  const keys = data.idempotencyKeys
  const requestHash = hashRequest(input)
  let claim = await keys.claim(tenant, clientId, idempotencyKey, requestHash, record.id, context.now)
  if (claim.kind === 'completed') return await replay(data, tenant, claim.record)
  if (claim.kind === 'pending') {
    // The first request may have written its record and died before completing the key.
    const written = await data.records.get(tenant, claim.recordId)
    if (written) {
      await keys.complete(tenant, clientId, idempotencyKey, written)
      return { record: written, replayed: true }
    }
    if (context.now.getTime() - Date.parse(claim.startedAt) < IDEMPOTENCY_CLAIM_LEASE_MS) throw new IdempotencyInProgressError()
    record = { ...record, id: claim.recordId }
    claim = await keys.claim(tenant, clientId, idempotencyKey, requestHash, record.id, context.now, { startedAt: claim.startedAt })
    if (claim.kind !== 'new') throw new IdempotencyInProgressError()
  }
  try {
    await insertRecord(data, context, record)
  } catch (error) {
    await keys.release(tenant, clientId, idempotencyKey, record.id)
    throw error
  }
  await keys.complete(tenant, clientId, idempotencyKey, record)
  return { record, replayed: false }
}

/**
 * A retry gets the original answer back — unless the record it created was deleted since: then a
 * 409 naming it. Creating it again would break the key's promise (one record per key), and a 201
 * would hand out the id of a record that is gone.
 */
async function replay (data: DataLayer, tenant: string, record: SecurityRecord): Promise<CreateOutcome> {
  if (!await data.records.get(tenant, record.id)) throw new IdempotentRecordDeletedError(record.id)
  return { record, replayed: true }
}

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
