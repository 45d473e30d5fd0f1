import { MAX_IMPORT_ERRORS, type ImportCounts, type ImportError } from '../records/report-import.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import { applyChunks } from './chunk-pipeline.ts'
import { formatNamed } from './formats.ts'
import { ReportedFingerprints } from './map-chunk.ts'
import { resolveMissing } from './resolve-missing.ts'
import { isTurnOf, leaveScopeLines } from './scope-turns.ts'
import { ImportFailure, readRuns } from './stored-report.ts'

export interface ProcessOptions {
  /** Who holds the lease while processing (a function instance, a sweeper run). */
  owner: string
  /** Aborted when the process drains: processing stops at the next chunk and gives the lease up. */
  signal?: AbortSignal
  leaseMs?: number
  /** Results of distinct fingerprints applied at once (./concurrency.ts's default without it). */
  resultsInFlight?: number | undefined
  /** Called with each import whose turn it may be once this one finished (the next of its scopes). */
  onTurn?: (id: string) => void
}

/** Longer than any chunk takes; a processor that died is replaced once it ran out. */
const LEASE_MS = 60_000
/** Times an import is taken up again before it counts as failed (a fault that every attempt hits). */
const MAX_ATTEMPTS = 10

/**
 * An import whose processing stops without a word twice at the same checkpoint is a poison
 * import (it kills the process applying it, out of memory most likely): it fails there instead
 * of being taken up again into one process after another. Once is forgiven: from the store, a
 * processor whose store calls failed, its release included, looks the same as one that died,
 * and an import interrupted once is resumed (crash safety).
 */
async function checkAbandoned (data: DataLayer, state: ImportState, owner: string): Promise<boolean> {
  if (state.abandonedBy === undefined) return true
  if (state.abandonedAt === state.processedChunks) {
    throw new ImportFailure(`its processing stopped twice at chunk ${state.processedChunks + 1} of ${state.chunkCount} without finishing or giving up (the process died); it is not taken up again`)
  }
  return await data.imports.noteAbandoned(state.tenant, state.id, owner, state.processedChunks)
}

/**
 * Applies a received report under a lease, once it is its turn in its scopes (./scope-turns.ts):
 * its chunks (./chunk-pipeline.ts), then resolves what the report's scopes no longer have
 * (./resolve-missing.ts). Every step is idempotent — a
 * result's record id derives from the import and its fingerprint, and a record says which change
 * last wrote it — so an import taken up again after a crash at any point ends with every result
 * recorded exactly once. Returns the finished import, or undefined when another processor holds
 * it, an earlier import of its scope has not finished (it waits, queued), or this one stopped early.
 */
export async function processImport (data: DataLayer, tenant: string, id: string, options: ProcessOptions): Promise<ImportState | undefined> {
  const { owner, leaseMs = LEASE_MS } = options
  const state = await data.imports.acquire(tenant, id, owner, new Date(), leaseMs)
  if (!state) return undefined
  try {
    if (!await isTurnOf(data, state)) {
      await data.imports.wait(tenant, id, owner)
      // The import before it may have finished meanwhile and found this one still leased: look once more.
      return await isTurnOf(data, state) ? await processImport(data, tenant, id, options) : undefined
    }
  } catch (error) {
    await data.imports.release(tenant, id, owner, new Date()).catch(() => {})
    throw error
  }
  const finished = await applyReport(data, state, options)
  // Leaving may fail (the store): the next import of a scope takes a finished one out of the line itself.
  if (finished) for (const next of await leaveScopeLines(data, finished).catch(() => [])) options.onTurn?.(next)
  return finished
}

async function applyReport (data: DataLayer, state: ImportState, options: ProcessOptions): Promise<ImportState | undefined> {
  const { tenant, id } = state
  const { owner, signal, leaseMs = LEASE_MS, resultsInFlight } = options
  const format = formatNamed(state.format)
  const tally = { counts: { ...state.counts }, errors: [...state.errors] }
  try {
    if ((state.attempts ?? 0) > MAX_ATTEMPTS) throw new ImportFailure(`gave up after ${MAX_ATTEMPTS} attempts`)
    if (!await checkAbandoned(data, state, owner)) return undefined
    const runs = await readRuns(data, state)
    const reported = new ReportedFingerprints(format.name, state.asset)
    const end = await applyChunks(data, state, { format, runs, owner, leaseMs, signal, tally, reported, resultsInFlight })
    if (end === 'drained') {
      await data.imports.release(tenant, id, owner, new Date())
      return undefined
    }
    if (end === 'lease lost') return undefined
    tally.counts.resolved = await resolveMissing(data, state, format.name, runs, reported, tally, resultsInFlight)
    return await finish(data, state, owner, 'succeeded', tally.counts, tally.errors)
  } catch (error) {
    if (!(error instanceof ImportFailure)) {
      // The store or this process failed: the next processor (or the sweeper) takes it up again.
      await data.imports.release(tenant, id, owner, new Date()).catch(() => {})
      throw error
    }
    return await finish(data, state, owner, 'failed', tally.counts, [...tally.errors, { path: '', message: error.message }].slice(-MAX_IMPORT_ERRORS))
  }
}

async function finish (data: DataLayer, state: ImportState, owner: string, status: 'succeeded' | 'failed', counts: ImportCounts, errors: ImportError[]): Promise<ImportState | undefined> {
  const now = new Date()
  if (!await data.imports.finish(state.tenant, state.id, owner, status, { counts, errors }, now)) return undefined
  return { ...state, status, counts, errors, finishedAt: now.toISOString() }
}
