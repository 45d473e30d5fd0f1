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
import type { StoredRecord } from '../store/records-repository.ts'
import { isConditionFailed } from '../store/store-errors.ts'
import { bodyAjv, toFieldErrors } from '../validation.ts'
import type { DataLayer } from './data-layer.ts'
import { changeOf, creationWithDiff, holdsFingerprint } from './record-writes.ts'
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
  // Chunk by chunk: a chunk's writes wait for the checkpoint of the chunk two before it (a
  // processor that lost its lease writes at most one chunk more), while the chunk before it
  // writes its history and then its checkpoint (`followUps`, in chunk order).
  let followUps: Array<Promise<boolean>> = []
  const settled = () => Promise.allSettled(followUps)
  try {
    if ((state.attempts ?? 0) > MAX_ATTEMPTS) throw new ImportFailure(`gave up after ${MAX_ATTEMPTS} attempts`)
    const runs = await readParts(data, state, 'RUNS', Array.from({ length: state.runParts }, (_, i) => i)) as StoredRun[]
    const seen = new Map<string, Set<string>>()
    // Each chunk is read and mapped, and its guards and records read, while the one before it is applied.
    let next = state.chunkCount > 0 ? ignoredUntilAwaited(loadChunk(data, state, 0, runs)) : undefined
    let nextHoldings: Promise<Map<string, Holding>> | undefined
    // The fingerprints the chunk before wrote: what the early read found of them is stale.
    let written = new Set<string>()
    for (let chunk = 0; chunk < state.chunkCount; chunk++) {
      const entries = await next!
      const holdingsRead = nextHoldings
      nextHoldings = undefined
      if (chunk + 1 < state.chunkCount) next = ignoredUntilAwaited(loadChunk(data, state, chunk + 1, runs))
      const findings = entries.flatMap(({ mapped }) => mapped.kind === 'finding' ? [mapped] : [])
      const earlier = new Set(findings.filter(({ scope, finding }) => seenIn(seen, scope).has(finding.fingerprint)).map(({ finding }) => finding.fingerprint))
      for (const { scope, finding } of findings) seenIn(seen, scope).add(finding.fingerprint)
      // Applied before an interruption: only its fingerprints are needed again.
      if (chunk < state.processedChunks) continue
      if (signal?.aborted) {
        await settled()
        await data.imports.release(tenant, id, owner, new Date())
        return undefined
      }
      const holdings = await (holdingsRead ?? readHoldings(data, tenant, fingerprintsOf(entries)))
      for (const fingerprint of written) holdings.delete(fingerprint)
      if (chunk + 1 < state.chunkCount) nextHoldings = ignoredUntilAwaited(next!.then((following) => readHoldings(data, tenant, fingerprintsOf(following))))
      // The two chunks after the last checkpoint may be applied in part already: a chunk writes
      // before the checkpoint of the chunk just before it.
      const resumed = chunk <= state.processedChunks + 1 && (state.attempts ?? 0) > 1
      const leaseHeld = followUps.length >= 2 ? followUps[followUps.length - 2]! : Promise.resolve(true)
      const inserted = await applyChunk(data, state, entries, holdings, counts, errors, leaseHeld, earlier, resumed)
      if (!inserted) {
        await settled()
        return undefined
      }
      written = new Set(fingerprintsOf(entries))
      const progress = { processedChunks: chunk + 1, counts: { ...counts }, errors: [...errors] }
      // The chunk's history (and events) now; its checkpoint once that is written and the one before it is.
      const before = followUps[followUps.length - 1] ?? Promise.resolve(true)
      const followUp = whenBothEnded(before, data.publisher.publishInserted(tenant, inserted))
        .then((held) => held && data.imports.checkpoint(tenant, id, owner, progress, new Date(), leaseMs))
      followUps = [...followUps.slice(-1), ignoredUntilAwaited(followUp)]
    }
    // Each follow-up is true only if the one before it was: the last says whether all were.
    if (!await (followUps[followUps.length - 1] ?? true)) return undefined
    counts.resolved = await resolveMissing(data, state, runs, seen)
    return await finish(data, state, owner, 'succeeded', counts, errors)
  } catch (error) {
    if (!(error instanceof ImportFailure)) {
      // The store or this process failed: the next processor (or the sweeper) takes it up again
      // (after the checkpoints under way, which would otherwise renew the lease given up here).
      await settled()
      await data.imports.release(tenant, id, owner, new Date()).catch(() => {})
      throw error
    }
    await settled()
    return await finish(data, state, owner, 'failed', counts, [...errors, { path: '', message: error.message }].slice(-MAX_IMPORT_ERRORS))
  }
}

/** A promise awaited later, maybe not at all (processing stopped first): its failure is no unhandled rejection meanwhile. */
function ignoredUntilAwaited<T> (promise: Promise<T>): Promise<T> {
  promise.catch(() => {})
  return promise
}

/**
 * Whether the lease was still held (`before`), once the writes under way (`writing`) ended too:
 * a failure of either is thrown only then, so nothing keeps writing behind it.
 */
async function whenBothEnded (before: Promise<boolean>, writing: Promise<void>): Promise<boolean> {
  const [held, written] = await Promise.allSettled([before, writing])
  if (held.status === 'rejected') throw held.reason
  if (written.status === 'rejected') throw written.reason
  return held.value
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

/** What a chunk's batch reads found for one fingerprint: the record holding it, if any. */
interface Holding {
  holderId?: string
  stored?: StoredRecord
}

/** A record this chunk inserted (or an earlier attempt did): its version 1 history entry is owed. */
type Inserted = { record: SecurityRecord, change: RecordChange }

function fingerprintsOf (entries: Entry[]): string[] {
  return [...new Set(entries.flatMap(({ mapped }) => mapped.kind === 'finding' ? [mapped.finding.fingerprint] : []))]
}

/** The guards of a chunk's fingerprints and the records holding them, in two batch reads. */
async function readHoldings (data: DataLayer, tenant: string, fingerprints: string[]): Promise<Map<string, Holding>> {
  const holders = await data.fingerprints.holders(tenant, fingerprints)
  const held = await data.records.getStoredMany(tenant, [...new Set(holders.values())])
  return new Map(fingerprints.map((fingerprint) => {
    const holderId = holders.get(fingerprint)
    return [fingerprint, holderId === undefined ? {} : { holderId, stored: held.get(holderId) }]
  }))
}

/**
 * Applies a chunk: results of distinct fingerprints side by side (those of one fingerprint in
 * order), starting from what `holdings` (the chunk's batch reads) found — a fingerprint it lacks
 * is read on its own. Returns the records it created (or an earlier attempt did), whose history
 * the caller writes in batches before the chunk's checkpoint, so an interrupted chunk, applied
 * again, writes what it still owes. `earlier`: the chunk's fingerprints that earlier chunks
 * reported already; `resumed`: an earlier attempt may have applied part of this chunk. False when
 * `leaseHeld` (a checkpoint) found the lease lost: nothing was written.
 */
async function applyChunk (data: DataLayer, state: ImportState, entries: Entry[], holdings: Map<string, Holding>, counts: ImportCounts, errors: ImportError[], leaseHeld: Promise<boolean>, earlier: Set<string>, resumed: boolean): Promise<Inserted[] | false> {
  const { tenant } = state
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
  // Writes wait for a checkpoint: a processor that lost its lease writes nothing more.
  if (!await leaseHeld) return false
  const inserted: Inserted[] = []
  await inPool([...byFingerprint.entries()], async ([fingerprint, group]) => {
    // Only the first result of a fingerprint may use the batch read: the next ones follow its write.
    let holding = holdings.get(fingerprint)
    let pending = group
    const firstHere = resumed && !earlier.has(fingerprint)
    if (firstHere && await settleCreatedBefore(data, state, group[0]!, holding ??= await readHolding(data, tenant, fingerprint))) {
      counts.created++
      pending = group.slice(1)
      holding = undefined
    }
    for (const entry of pending) {
      const { finding } = entry.mapped as Extract<MappedResult, { kind: 'finding' }>
      const context: RequestContext = { actor: { ...state.actor, tenant }, now: new Date(), requestId: entry.requestId }
      // Whether this import may have made the fingerprint's record already, and what this result counts as then.
      const madeBefore = entry === group[0] ? (firstHere ? 'created' : earlier.has(fingerprint) ? 'unchanged' : undefined) : 'unchanged'
      try {
        counts[await applyFinding(data, context, state, finding, inserted, holding, madeBefore)]++
      } catch (error) {
        if (!isResultFault(error)) throw error
        reject(entry, (error as Error).message)
      }
      holding = undefined
    }
  })
  return inserted
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
 * interrupted), that change is its outcome: it is counted once, written once, and its history
 * entry (if it was the creation) is owed again. `holding` is what the chunk's batch read found.
 * `madeBefore`: this import may have made the record already (an interrupted attempt, or an
 * earlier result of the fingerprint); if a person deleted it since, it is not made again (its
 * id would come back with the deletion in its history), and the result counts as `madeBefore`.
 */
async function applyFinding (data: DataLayer, context: RequestContext, state: ImportState, finding: RecordCreate & { fingerprint: string }, inserted: Inserted[], holding?: Holding, madeBefore?: Outcome): Promise<Outcome> {
  const { tenant } = context.actor
  for (let attempt = 0; attempt < RESULT_ATTEMPTS; attempt++) {
    const { holderId, stored } = attempt === 0 && holding ? holding : await readHolding(data, tenant, finding.fingerprint)
    if (stored?.pendingHistory || stored?.deleted) await data.publisher.settle(tenant, stored)
    const current = stored && !stored.deleted && stored.record.fingerprint === finding.fingerprint ? stored.record : undefined
    try {
      if (!current) {
        const id = importRecordId(state, finding.fingerprint)
        // The record's partition keeps its history after a delete (the delete wrote an owed creation first).
        if (madeBefore && (await data.history.list(tenant, id, 1)).items.length > 0) return madeBefore
        inserted.push(await insertImported(data, context, buildNewRecord(finding, id, context)))
        return 'created'
      }
      const patch = importPatch(current, finding)
      if (Object.keys(patch).length === 0) {
        const change = stored!.change
        if (change?.requestId !== context.requestId) return 'unchanged'
        if (change.action === 'created') inserted.push({ record: current, change: creationWithDiff(current, change) })
        return outcomeOf(change)
      }
      await updateRecord(data, context, current.id, patch, etagOf(current))
      return patch.status === 'open' ? 'reopened' : 'updated'
    } catch (error) {
      // Someone else took the fingerprint, wrote the record or changed it since we read: read again.
      if (!(error instanceof DuplicateFingerprintError) && !(error instanceof PreconditionFailedError) && !isConditionFailed(error)) throw error
    }
  }
  throw new IngestConflictError()
}

async function readHolding (data: DataLayer, tenant: string, fingerprint: string): Promise<Holding> {
  const holderId = await data.fingerprints.holder(tenant, fingerprint)
  return holderId === undefined ? {} : { holderId, stored: await data.records.getStored(tenant, holderId) }
}

/**
 * Claims the fingerprint (a conditional put: exactly one writer gets it) and inserts the record
 * with its history owed by this import (`insertHistoryOwedByCaller`): two writes, the history
 * entry follows in the chunk's batch.
 */
async function insertImported (data: DataLayer, context: RequestContext, record: SecurityRecord): Promise<Inserted> {
  const { tenant } = context.actor
  const fingerprint = record.fingerprint!
  await data.fingerprints.claim(tenant, fingerprint, record.id, context.now, holdsFingerprint(data, tenant, fingerprint))
  const change = changeOf(context, 'created', 1, undefined, record)
  try {
    await data.records.insertHistoryOwedByCaller(tenant, record, change)
  } catch (error) {
    // A record with this id exists (an earlier attempt wrote it first): the claim is rightly its.
    if (!isConditionFailed(error)) await data.fingerprints.release(tenant, fingerprint, record.id)
    throw error
  }
  return { record, change }
}

/**
 * In a chunk an interrupted attempt may have applied in part: a record that attempt created and
 * somebody changed since (before this attempt came) no longer carries its creation, whose history
 * entry may still be owed. Its version 1 is rebuilt as it was made — the same result, import,
 * actor and time (the record's `createdAt`) — and settled like any owed change: written only if
 * the entry is missing. That result is counted as created and not applied again: what the person
 * changed after the creation stays, as it would have without the interruption. (A fingerprint an
 * earlier chunk reported had its entry written before that chunk's checkpoint: not asked here.)
 */
async function settleCreatedBefore (data: DataLayer, state: ImportState, first: Entry, holding: Holding): Promise<boolean> {
  const { finding } = first.mapped as Extract<MappedResult, { kind: 'finding' }>
  const current = holding.stored?.record
  if (!current || holding.stored!.deleted || current.version === 1 || current.id !== importRecordId(state, finding.fingerprint)) return false
  const context: RequestContext = { actor: { ...state.actor, tenant: state.tenant }, now: new Date(current.createdAt), requestId: first.requestId }
  const created = buildNewRecord(finding, current.id, context)
  const change = changeOf(context, 'created', 1, undefined, created)
  await data.publisher.settle(state.tenant, { record: created, change, pendingHistory: change, deleted: false })
  return true
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
      const missing = page.items.filter(({ fingerprint }) => !reported.has(fingerprint))
      await inPool(missing, async (record) => {
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

/**
 * Runs `work` over `items`, at most CONCURRENCY at a time. After a failure no item is started,
 * and the failure is thrown once the ones under way have ended (nothing keeps writing behind it).
 */
async function inPool<T> (items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]!)
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker))
  const failure = outcomes.find((outcome) => outcome.status === 'rejected')
  if (failure) throw failure.reason
}
