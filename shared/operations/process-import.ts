import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import type { ValidateFunction } from 'ajv'
import { DuplicateFingerprintError, IngestConflictError, PreconditionFailedError, StoreUnavailableError } from '../errors.ts'
import type { RecordChange } from '../records/change.ts'
import { etagOf } from '../records/etag.ts'
import { importPatch, resolutionPatch } from '../records/import-rules.ts'
import { buildNewRecord } from '../records/model.ts'
import { MAX_IMPORT_ERRORS, type ImportCounts, type ImportError } from '../records/report-import.ts'
import { mapResult, scopePrefix, type ImportScope, type MappedResult } from '../records/sarif.ts'
import { RecordCreate, type RecordPatch, type SecurityRecord } from '../records/schema.ts'
import type { ImportState } from '../store/imports-repository.ts'
import { isConditionFailed } from '../store/store-errors.ts'
import { bodyAjv, toFieldErrors } from '../validation.ts'
import { insertNew } from './create-record.ts'
import type { DataLayer } from './data-layer.ts'
import type { StoredRun } from './receive-report.ts'
import type { RequestContext } from './request-context.ts'
import { updateRecord } from './update-record.ts'

const decompress = promisify(gunzip)

export interface ProcessOptions {
  /** Who holds the lease while processing (a function instance, a sweeper run). */
  owner: string
  /** Aborted when the process drains: processing stops at the next chunk and gives the lease up. */
  signal?: AbortSignal
  leaseMs?: number
}

/** Longer than any chunk takes; a processor that died is replaced once it ran out. */
const LEASE_MS = 60_000
/** Results applied at once (distinct fingerprints only: one fingerprint is never raced with itself). */
const CONCURRENCY = 16
/** Times an import is taken up again before it counts as failed (a fault that every attempt hits). */
const MAX_ATTEMPTS = 10
/** Re-reads a result gets when another writer keeps changing its record. */
const RESULT_ATTEMPTS = 5

type Outcome = 'created' | 'updated' | 'reopened' | 'unchanged'

interface Entry {
  path: string
  requestId: string
  mapped: MappedResult
}

let validateFinding: ValidateFunction<RecordCreate> | undefined

/**
 * Applies a received report (README "Importing scanner reports"), chunk by chunk, each followed
 * by a checkpoint; then resolves what the report's scopes no longer have. Every step is
 * idempotent — a result's record id derives from the import and its fingerprint, and a record
 * says which change last wrote it — so an import taken up again after a crash at any point
 * ends with every result recorded exactly once. Returns the finished import, or undefined when
 * another processor holds it (or this one stopped early).
 */
export async function processImport (data: DataLayer, tenant: string, id: string, options: ProcessOptions): Promise<ImportState | undefined> {
  const { owner, signal, leaseMs = LEASE_MS } = options
  const state = await data.imports.acquire(tenant, id, owner, new Date(), leaseMs)
  if (!state) return undefined
  const counts: ImportCounts = { ...state.counts }
  const errors: ImportError[] = [...state.errors]
  try {
    if ((state.attempts ?? 0) > MAX_ATTEMPTS) throw new ImportFailure(`gave up after ${MAX_ATTEMPTS} attempts`)
    const runs = await readParts(data, state, 'RUNS', Array.from({ length: state.runParts }, (_, i) => i)) as StoredRun[]
    const seen = new Map<string, Set<string>>()
    for (let chunk = 0; chunk < state.chunkCount; chunk++) {
      const entries = await loadChunk(data, state, chunk, runs)
      for (const { mapped } of entries) if (mapped.kind === 'finding') seenIn(seen, mapped.scope).add(mapped.finding.fingerprint)
      // Applied before an interruption: only its fingerprints are needed again.
      if (chunk < state.processedChunks) continue
      if (signal?.aborted) {
        await data.imports.release(tenant, id, owner, new Date())
        return undefined
      }
      await applyChunk(data, state, entries, counts, errors)
      if (!await data.imports.checkpoint(tenant, id, owner, { processedChunks: chunk + 1, counts, errors }, new Date(), leaseMs)) return undefined
    }
    counts.resolved = await resolveMissing(data, state, runs, seen)
    return await finish(data, state, owner, 'succeeded', counts, errors)
  } catch (error) {
    if (!(error instanceof ImportFailure)) {
      // The store or this process failed: the next processor (or the sweeper) takes it up again.
      await data.imports.release(tenant, id, owner, new Date()).catch(() => {})
      throw error
    }
    return await finish(data, state, owner, 'failed', counts, [...errors, { path: '', message: error.message }].slice(-MAX_IMPORT_ERRORS))
  }
}

/** A fault of the import itself (its stored parts), not of the moment: taking it up again cannot help. */
class ImportFailure extends Error {}

async function finish (data: DataLayer, state: ImportState, owner: string, status: 'succeeded' | 'failed', counts: ImportCounts, errors: ImportError[]): Promise<ImportState | undefined> {
  const now = new Date()
  if (!await data.imports.finish(state.tenant, state.id, owner, status, { counts, errors }, now)) return undefined
  return { ...state, status, counts, errors, finishedAt: now.toISOString() }
}

function seenIn (seen: Map<string, Set<string>>, scope: ImportScope): Set<string> {
  const prefix = scopePrefix(scope)
  return seen.get(prefix) ?? seen.set(prefix, new Set()).get(prefix)!
}

async function readParts (data: DataLayer, state: ImportState, kind: 'CHUNK' | 'RUNS', indexes: number[]): Promise<unknown> {
  const parts: Uint8Array[] = []
  for (const index of indexes) {
    const part = await data.imports.getPart(state.tenant, state.id, kind, index)
    if (!part) throw new ImportFailure(`the stored report is incomplete (${kind.toLowerCase()} ${index} is missing; parts expire after 7 days)`)
    parts.push(part)
  }
  try {
    return JSON.parse((await decompress(Buffer.concat(parts))).toString('utf8'))
  } catch {
    throw new ImportFailure(`the stored report is damaged (${kind.toLowerCase()} ${indexes[0]})`)
  }
}

/** One chunk's results, each mapped and checked against the record schema. */
async function loadChunk (data: DataLayer, state: ImportState, chunk: number, runs: StoredRun[]): Promise<Entry[]> {
  const entries = await readParts(data, state, 'CHUNK', [chunk]) as Array<[number, number, unknown]>
  validateFinding ??= bodyAjv.compile<RecordCreate>(RecordCreate)
  return entries.map(([run, index, result]) => {
    const path = `/runs/${run}/results/${index}`
    const requestId = `${state.id}:${run}:${index}`
    if (result === null) return { path, requestId, mapped: { kind: 'rejected', message: 'the result is too large to import (over 350 KB compressed)' } }
    const mapped = mapResult(result, runs[run]!, state.asset, state.id)
    if (mapped.kind === 'finding' && !validateFinding!(mapped.finding)) {
      const [first] = toFieldErrors(validateFinding!.errors ?? [])
      return { path, requestId, mapped: { kind: 'rejected', message: `the record it maps to is invalid: ${first?.path ?? ''} ${first?.message ?? ''}`.trim() } }
    }
    return { path, requestId, mapped }
  })
}

/** Applies a chunk: results of distinct fingerprints side by side, those of one fingerprint in order. */
async function applyChunk (data: DataLayer, state: ImportState, entries: Entry[], counts: ImportCounts, errors: ImportError[]): Promise<void> {
  const byFingerprint = new Map<string, Entry[]>()
  const reject = (entry: Entry, message: string) => {
    counts.rejected++
    if (errors.length < MAX_IMPORT_ERRORS) errors.push({ path: entry.path, message: message.slice(0, 500) })
  }
  for (const entry of entries) {
    if (entry.mapped.kind === 'skipped') counts.skipped++
    else if (entry.mapped.kind === 'rejected') reject(entry, entry.mapped.message)
    else {
      const group = byFingerprint.get(entry.mapped.finding.fingerprint)
      if (group) group.push(entry)
      else byFingerprint.set(entry.mapped.finding.fingerprint, [entry])
    }
  }
  await inPool([...byFingerprint.values()], async (group) => {
    for (const entry of group) {
      const { finding } = entry.mapped as Extract<MappedResult, { kind: 'finding' }>
      const context: RequestContext = { actor: { ...state.actor, tenant: state.tenant }, now: new Date(), requestId: entry.requestId }
      try {
        counts[await applyFinding(data, context, state, finding)]++
      } catch (error) {
        if (!isResultFault(error)) throw error
        reject(entry, (error as Error).message)
      }
    }
  })
}

/** A result the workflow or the record rules refuse (a 4xx): rejected, the import goes on. */
function isResultFault (error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return false
  const status = (error as { statusCode?: number }).statusCode
  return status !== undefined && status >= 400 && status < 500
}

/**
 * One result: creates the record of its fingerprint, or applies the re-import rules to it. When
 * the record's last change was this very result (an earlier attempt of this import that was
 * interrupted), that change is its outcome: it is counted once, written once.
 */
async function applyFinding (data: DataLayer, context: RequestContext, state: ImportState, finding: RecordCreate & { fingerprint: string }): Promise<Outcome> {
  const { tenant } = context.actor
  for (let attempt = 0; attempt < RESULT_ATTEMPTS; attempt++) {
    const holderId = await data.fingerprints.holder(tenant, finding.fingerprint)
    const stored = holderId === undefined ? undefined : await data.records.getStored(tenant, holderId)
    if (stored?.pendingHistory || stored?.deleted) await data.publisher.settle(tenant, stored)
    const current = stored && !stored.deleted && stored.record.fingerprint === finding.fingerprint ? stored.record : undefined
    try {
      if (!current) {
        await insertNew(data, context, buildNewRecord(finding, importRecordId(state, finding.fingerprint), context))
        return 'created'
      }
      const patch = importPatch(current, finding)
      if (Object.keys(patch).length === 0) return stored!.change?.requestId === context.requestId ? outcomeOf(stored!.change) : 'unchanged'
      await updateRecord(data, context, current.id, patch, etagOf(current))
      return patch.status === 'open' ? 'reopened' : 'updated'
    } catch (error) {
      // Someone else took the fingerprint, wrote the record or changed it since we read: read again.
      if (!(error instanceof DuplicateFingerprintError) && !(error instanceof PreconditionFailedError) && !isConditionFailed(error)) throw error
    }
  }
  throw new IngestConflictError()
}

function outcomeOf (change: RecordChange): Outcome {
  if (change.action === 'created') return 'created'
  return change.changes.some((field) => field.path === '/status' && field.to === 'open') ? 'reopened' : 'updated'
}

/**
 * The record id of a result: a UUIDv7 whose time is the import's and whose random bits come from
 * the import and the fingerprint, so a retry writes the same record (the insert is conditional).
 */
export function importRecordId (state: Pick<ImportState, 'id' | 'createdAt'>, fingerprint: string): string {
  const bytes = Buffer.alloc(16)
  bytes.writeUIntBE(Date.parse(state.createdAt), 0, 6)
  createHash('sha256').update(`${state.id}\n${fingerprint}`).digest().copy(bytes, 6, 0, 10)
  bytes[6] = 0x70 | (bytes[6]! & 0x0f)
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * Resolves the records of each scope that this report no longer has: only records an import
 * made (their fingerprint carries the scope), only while open, triaged or in progress. A run
 * whose `results` are absent computed nothing, so its scope resolves nothing. Returns how many
 * records this import resolved, those of an interrupted earlier attempt included.
 */
async function resolveMissing (data: DataLayer, state: ImportState, runs: StoredRun[], seen: Map<string, Set<string>>): Promise<number> {
  const requestId = `${state.id}:resolve`
  const incomplete = new Set(runs.filter((run) => !run.resultsPresent).map((run) => scopePrefix({ tool: run.tool.name, category: run.category, asset: state.asset.name })))
  let resolved = 0
  for (const scope of state.scopes) {
    const prefix = scopePrefix(scope)
    if (incomplete.has(prefix)) continue
    const reported = seen.get(prefix) ?? new Set<string>()
    let after: Record<string, unknown> | undefined
    do {
      const page = await data.records.listByFingerprintPrefix(state.tenant, scope.asset, prefix, after)
      after = page.after
      const missing = page.items.filter((stored) => !reported.has(stored.record.fingerprint!))
      await inPool(missing, async ({ record }) => {
        // The index may lag: whether an interrupted attempt already resolved it, the record itself says.
        const current = await data.records.getStored(state.tenant, record.id)
        if (current?.record.status === 'resolved' && current.change?.requestId === requestId) {
          resolved++
          return
        }
        const context: RequestContext = { actor: { ...state.actor, tenant: state.tenant }, now: new Date(), requestId }
        if (await patchRecord(data, context, record.id, (latest) => resolutionPatch(latest, state.id, scope))) resolved++
      })
    } while (after)
  }
  return resolved
}

/** Applies the patch `decide` makes of the current record, reading again when another writer got there first. */
async function patchRecord (data: DataLayer, context: RequestContext, id: string, decide: (current: SecurityRecord) => RecordPatch | undefined): Promise<boolean> {
  for (let attempt = 0; attempt < RESULT_ATTEMPTS; attempt++) {
    const current = await data.records.get(context.actor.tenant, id)
    const patch = current && decide(current)
    if (!current || !patch) return false
    try {
      await updateRecord(data, context, id, patch, etagOf(current))
      return true
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error
    }
  }
  throw new IngestConflictError()
}

/** Runs `work` over `items`, at most CONCURRENCY at a time. */
async function inPool<T> (items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker))
}
