import { IngestConflictError, PreconditionFailedError } from '../errors.ts'
import { etagOf } from '../records/etag.ts'
import { MAX_IMPORT_ERRORS, type ImportError } from '../records/report-import.ts'
import type { RecordPatch, SecurityRecord } from '../records/schema.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import type { RequestContext } from '../operations/request-context.ts'
import { updateRecord } from '../operations/update-record.ts'
import { retryOnConflict } from '../retry-on-conflict.ts'
import { CONCURRENCY, inPool } from './concurrency.ts'
import { importScopes } from './get-import.ts'
import { resolutionPatch } from './import-rules.ts'
import { legacyScopePrefix, scopeKey } from './import-scope.ts'
import { isLegacyImportRecord } from './legacy-records.ts'
import type { ReportedFingerprints } from './map-chunk.ts'
import type { Tally } from './apply-results.ts'
import type { StoredRun } from './stored-report.ts'

/** Re-reads a record gets when another writer keeps changing it. */
const RESOLVE_ATTEMPTS = 5

/**
 * Resolves the records of each scope that this report no longer has: only records an import of
 * the scope created (marked so, or provably so before there was a mark: ./legacy-records.ts),
 * only while open, triaged or in progress. A run whose results are absent computed nothing, and a
 * result rejected before its fingerprint was known could be any record: such a scope resolves
 * nothing (an error says so). Returns how many records this import resolved, those of an
 * interrupted earlier attempt included.
 */
export async function resolveMissing (data: DataLayer, state: ImportState, format: string, runs: StoredRun[], reported: ReportedFingerprints, tally: Tally, resultsInFlight = CONCURRENCY): Promise<number> {
  const requestId = `${state.id}:resolve`
  const incomplete = new Set(runs.filter((run) => !run.resultsPresent).map((run) => scopeKey(format, { tool: run.tool.name, category: run.category }, state.asset)))
  let resolved = 0
  for (const scope of importScopes(state)) {
    const key = scopeKey(format, scope, state.asset)
    if (incomplete.has(key)) continue
    const unidentified = reported.unidentifiedIn(scope)
    if (unidentified > 0) {
      noteError(tally, { path: '', message: `records of ${describeScope(scope)} were not resolved: ${unidentified} of its results could not be identified (see the errors before)` })
      continue
    }
    const reportedInScope = reported.of(scope)
    let after: Record<string, unknown> | undefined
    do {
      const page = await data.records.listImportOwned(state.tenant, scope.asset, { key, legacyPrefix: legacyScopePrefix(format, scope, scope.asset) }, after)
      after = page.after
      const missing = page.items.filter(({ fingerprint }) => !reportedInScope.has(fingerprint))
      await inPool(missing, async (record) => {
        // The index may lag: whether an interrupted attempt already resolved it, the record itself says.
        const current = await data.records.getStored(state.tenant, record.id)
        if (current?.record.status === 'resolved' && current.change?.requestId === requestId) {
          resolved++
          return
        }
        if (!current || (current.importScope !== key && !await isLegacyImportRecord(data, state.tenant, current, state.asset))) return
        const context: RequestContext = { actor: { ...state.actor, tenant: state.tenant }, now: new Date(), requestId }
        if (await patchRecord(data, context, record.id, (latest) => resolutionPatch(latest, state.id, scope))) resolved++
      }, resultsInFlight)
    } while (after)
  }
  return resolved
}

function describeScope (scope: { tool: string, category: string }): string {
  return `${scope.tool}${scope.category ? ` (category ${scope.category})` : ''}`
}

/** Adds an error once (an import taken up again resolves again). */
function noteError (tally: Tally, error: ImportError): void {
  if (!tally.errors.some((known) => known.message === error.message)) tally.errors.push(error)
  if (tally.errors.length > MAX_IMPORT_ERRORS) tally.errors.splice(0, tally.errors.length - MAX_IMPORT_ERRORS)
}

/** Applies the patch `decide` makes of the current record, reading again when another writer got there first. */
async function patchRecord (data: DataLayer, context: RequestContext, id: string, decide: (current: SecurityRecord) => RecordPatch | undefined): Promise<boolean> {
  const isConflict = (error: unknown) => error instanceof PreconditionFailedError
  return await retryOnConflict({ attempts: RESOLVE_ATTEMPTS, isConflict, exhausted: () => new IngestConflictError() }, async () => {
    const current = await data.records.get(context.actor.tenant, id)
    const patch = current && decide(current)
    if (!current || !patch) return false
    await updateRecord(data, context, id, patch, etagOf(current))
    return true
  })
}
