import { IngestConflictError, PreconditionFailedError } from '../errors.ts'
import { etagOf } from '../records/etag.ts'
import type { RecordPatch, SecurityRecord } from '../records/schema.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import type { RequestContext } from '../operations/request-context.ts'
import { updateRecord } from '../operations/update-record.ts'
import { retryOnConflict } from '../retry-on-conflict.ts'
import { inPool } from './concurrency.ts'
import { importScopes } from './get-import.ts'
import { resolutionPatch } from './import-rules.ts'
import { scopePrefix } from './import-scope.ts'
import type { ReportedFingerprints } from './map-chunk.ts'
import type { StoredRun } from './stored-report.ts'

/** Re-reads a record gets when another writer keeps changing it. */
const RESOLVE_ATTEMPTS = 5

/**
 * Resolves the records of each scope that this report no longer has: only records an import
 * made (their fingerprint carries the scope), only while open, triaged or in progress. A run
 * whose results are absent computed nothing, so its scope resolves nothing. Returns how many
 * records this import resolved, those of an interrupted earlier attempt included.
 */
export async function resolveMissing (data: DataLayer, state: ImportState, format: string, runs: StoredRun[], reported: ReportedFingerprints): Promise<number> {
  const requestId = `${state.id}:resolve`
  const incomplete = new Set(runs.filter((run) => !run.resultsPresent).map((run) => scopePrefix(format, { tool: run.tool.name, category: run.category, asset: state.asset.name })))
  let resolved = 0
  for (const scope of importScopes(state)) {
    const prefix = scopePrefix(format, scope)
    if (incomplete.has(prefix)) continue
    const reportedInScope = reported.of(scope)
    let after: Record<string, unknown> | undefined
    do {
      const page = await data.records.listByFingerprintPrefix(state.tenant, scope.asset, prefix, after)
      after = page.after
      const missing = page.items.filter(({ fingerprint }) => !reportedInScope.has(fingerprint))
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
  const isConflict = (error: unknown) => error instanceof PreconditionFailedError
  return await retryOnConflict({ attempts: RESOLVE_ATTEMPTS, isConflict, exhausted: () => new IngestConflictError() }, async () => {
    const current = await data.records.get(context.actor.tenant, id)
    const patch = current && decide(current)
    if (!current || !patch) return false
    await updateRecord(data, context, id, patch, etagOf(current))
    return true
  })
}
