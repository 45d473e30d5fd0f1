import type { HistoryPage } from '../store/history-repository.ts'
import type { DataLayer } from './data-layer.ts'
import { recordNotFound } from './record-writes.ts'
import type { RequestContext } from './request-context.ts'

/** The record's history, newest first; it outlives the record itself. */
export async function getRecordHistory (data: DataLayer, context: RequestContext, id: string, limit: number, beforeVersion: number | undefined): Promise<HistoryPage> {
  const { tenant } = context.actor
  const stored = await data.records.getStored(tenant, id)
  if (stored) await data.publisher.settle(tenant, stored)
  const page = await data.history.list(tenant, id, limit, beforeVersion)
  if (!stored && page.items.length === 0 && beforeVersion === undefined) throw recordNotFound(id)
  return page
}
