import type { SecurityRecord } from '../records/schema.ts'
import type { DataLayer } from './data-layer.ts'
import { readSettled } from './record-writes.ts'
import type { RequestContext } from './request-context.ts'

/** One live record of the caller's tenant; another tenant's is a 404 like a missing one. */
export async function getRecord (data: DataLayer, context: RequestContext, id: string): Promise<SecurityRecord> {
  return (await readSettled(data, context.actor.tenant, id)).record
}
