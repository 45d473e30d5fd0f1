import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { v7 as uuidv7 } from 'uuid'
import { IdempotencyInProgressError, IngestConflictError, invalidFields, NotFoundError, PreconditionFailedError } from '../errors.ts'
import type { EventSink } from '../events/record-events.ts'
import type { createStoreModules } from '../store/index.ts'
import type { ListFilters } from '../store/list-plan.ts'
import type { StoredRecord } from '../store/records-repository.ts'
import { diffRecords, type ChangeAction, type RecordChange } from './change.ts'
import { createChangePublisher } from './change-publisher.ts'
import { acceptedVersions, etagOf } from './etag.ts'
import { reReportPatch, type FindingReport } from './ingest-rules.ts'
import { applyRecordPatch, buildNewRecord, type Actor } from './model.ts'
import type { RecordCreate, RecordPatch, SecurityRecord } from './schema.ts'

/** Who asks, when, and under which request id: everything a write needs besides its input. */
export interface RequestContext {
  actor: Actor
  now: Date
  requestId: string
}

export interface CreateOutcome {
  record: SecurityRecord
  /** True when an Idempotency-Key retry got the original response back. */
  replayed: boolean
}

export interface RecordsServiceOptions {
  sink: EventSink
  log: Pick<FastifyBaseLogger, 'warn'>
  /**
   * Test-only fault injection: runs right after a record write commits, before its history
   * entry and event. Only code can set it (there is no configuration or header for it).
   */
  afterRecordWrite?: (change: RecordChange) => void | Promise<void>
}

/** How long an unfinished Idempotency-Key claim blocks retries before it counts as abandoned. */
const IDEMPOTENCY_CLAIM_LEASE_MS = 30_000
/** Re-reads a report gets when other writers keep winning the race for its record. */
const INGEST_ATTEMPTS = 5

/**
 * The record operations the functions expose, composed from the data layer: model rules,
 * conditional writes, the fingerprint guard, idempotency keys, history and events.
 * Handlers call one method each.
 */
export function createRecordsService (modules: ReturnType<typeof createStoreModules>, options: RecordsServiceOptions) {
  const { records, fingerprints, idempotency, history, outbox } = modules
  const publisher = createChangePublisher({ records, history, outbox, sink: options.sink, log: options.log })
  const notFound = (id: string) => new NotFoundError(`No record with id ${id}`)

  function changeOf (context: RequestContext, action: ChangeAction, version: number, before?: SecurityRecord, after?: SecurityRecord): RecordChange {
    return {
      version,
      action,
      at: context.now.toISOString(),
      actor: { sub: context.actor.sub, clientId: context.actor.clientId },
      requestId: context.requestId,
      changes: action === 'deleted' ? [] : diffRecords(before, after)
    }
  }

  async function committed (tenant: string, recordId: string, change: RecordChange, record?: SecurityRecord) {
    await options.afterRecordWrite?.(change)
    await publisher.afterCommit(tenant, recordId, change, record)
  }

  /** Reads a live record, first finishing what an earlier writer of it left undone. */
  async function readSettled (tenant: string, id: string): Promise<StoredRecord> {
    const stored = await records.getStored(tenant, id)
    if (!stored) throw notFound(id)
    if (stored.pendingHistory || stored.deleted) await publisher.settle(tenant, stored)
    if (stored.deleted) throw notFound(id)
    return stored
  }

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
    const change = changeOf(context, 'created', 1, undefined, record)
    try {
      await records.insert(tenant, record, change)
    } catch (error) {
      if (record.fingerprint) await fingerprints.release(tenant, record.fingerprint, record.id)
      throw error
    }
    await committed(tenant, record.id, change, record)
  }

  const service = {
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
      return (await readSettled(context.actor.tenant, id)).record
    },

    async list (context: RequestContext, filters: ListFilters, limit: number, after: string | undefined) {
      return records.list(context.actor.tenant, filters, limit, after, context.now)
    },

    /** The record's history, newest first; it outlives the record itself. */
    async history (context: RequestContext, id: string, limit: number, beforeVersion: number | undefined) {
      const { tenant } = context.actor
      const stored = await records.getStored(tenant, id)
      if (stored) await publisher.settle(tenant, stored)
      const page = await history.list(tenant, id, limit, beforeVersion)
      if (!stored && page.items.length === 0 && beforeVersion === undefined) throw notFound(id)
      return page
    },

    async update (context: RequestContext, id: string, patch: RecordPatch, ifMatch: string | undefined): Promise<SecurityRecord> {
      const { tenant } = context.actor
      const versions = acceptedVersions(ifMatch)
      const { record: current } = await readSettled(tenant, id)
      if (!versions.includes(current.version)) throw new PreconditionFailedError(etagOf(current))
      const next = applyRecordPatch(current, patch, context)
      if (next === current) return current
      await assertDuplicateTarget(tenant, next, current)
      const newFingerprint = next.fingerprint !== current.fingerprint ? next.fingerprint : undefined
      if (newFingerprint) await fingerprints.claim(tenant, newFingerprint, id, context.now, holdsFingerprint(tenant, newFingerprint))
      const change = changeOf(context, 'updated', next.version, current, next)
      try {
        await records.replace(tenant, next, current.version, change)
      } catch (error) {
        if (newFingerprint) await fingerprints.release(tenant, newFingerprint, id)
        throw error
      }
      if (current.fingerprint && current.fingerprint !== next.fingerprint) await fingerprints.release(tenant, current.fingerprint, id)
      await committed(tenant, id, change, next)
      return next
    },

    async remove (context: RequestContext, id: string, ifMatch: string | undefined): Promise<void> {
      const { tenant } = context.actor
      const versions = ifMatch === undefined ? undefined : acceptedVersions(ifMatch)
      const { record: current } = await readSettled(tenant, id)
      if (versions && !versions.includes(current.version)) throw new PreconditionFailedError(etagOf(current))
      const change = changeOf(context, 'deleted', current.version + 1, current)
      await records.tombstone(tenant, current, change)
      if (current.fingerprint) await fingerprints.release(tenant, current.fingerprint, id)
      await committed(tenant, id, change)
    },

    /**
     * A scanner's report (the ingest-finding function): creates the record, or applies the
     * re-report rules to the one holding the fingerprint. Races with other writers are retried.
     */
    async ingest (context: RequestContext, report: FindingReport): Promise<{ outcome: 'created' | 'updated' | 'unchanged', record: SecurityRecord }> {
      const { tenant } = context.actor
      for (let attempt = 0; attempt < INGEST_ATTEMPTS; attempt++) {
        const holderId = await fingerprints.holder(tenant, report.fingerprint)
        const current = holderId === undefined ? undefined : await records.get(tenant, holderId)
        try {
          if (!current || current.fingerprint !== report.fingerprint) {
            const { record } = await service.create(context, report)
            return { outcome: 'created', record }
          }
          const patch = reReportPatch(current, report, context.now)
          if (Object.keys(patch).length === 0) return { outcome: 'unchanged', record: current }
          const record = await service.update(context, current.id, patch, etagOf(current))
          return { outcome: record.version === current.version ? 'unchanged' : 'updated', record }
        } catch (error) {
          const code = (error as { code?: string }).code
          if (code !== 'SR_DUPLICATE_FINGERPRINT' && code !== 'SR_PRECONDITION_FAILED') throw error
        }
      }
      throw new IngestConflictError()
    },

    publisher
  }
  return service
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
