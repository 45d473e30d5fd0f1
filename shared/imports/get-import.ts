import { NotFoundError } from '../errors.ts'
import type { ImportScope, ReportImport } from '../records/report-import.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import type { RequestContext } from '../operations/request-context.ts'

/** An import of the caller's tenant as the API shows it; another tenant's is a 404 like a missing one. */
export async function getImport (data: DataLayer, context: RequestContext, id: string): Promise<ReportImport> {
  const state = await data.imports.get(context.actor.tenant, id)
  if (!state) throw new NotFoundError(`No import with id ${id}`)
  return importView(state)
}

export function importView (state: ImportState): ReportImport {
  const { id, status, tool, asset, counts, errors, createdAt, finishedAt, createdBy } = state
  const scopes = importScopes(state)
  return { id, status, tool, scope: scopes[0]!, scopes, asset, counts, errors, createdAt, finishedAt: finishedAt ?? null, createdBy }
}

/** The import's scopes with its asset: what its re-import semantics hold per. */
export function importScopes (state: Pick<ImportState, 'scopes' | 'asset'>): ImportScope[] {
  return state.scopes.map(({ tool, category }) => ({ tool, category, asset: state.asset.name }))
}
