import type { ListFilters } from '../records/list-filters.ts'
import type { ListPage } from '../store/records-repository.ts'
import type { DataLayer } from './data-layer.ts'
import type { RequestContext } from './request-context.ts'

/** One page of the caller's tenant's records, resuming after `after` (a position from the previous page). */
export async function listRecords (data: DataLayer, context: RequestContext, filters: ListFilters, limit: number, after: string | undefined): Promise<ListPage> {
  return data.records.list(context.actor.tenant, filters, limit, after, context.now)
}
