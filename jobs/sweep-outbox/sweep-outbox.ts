import { randomUUID } from 'node:crypto'
import { processImport } from '../../shared/imports/process-import.ts'
import type { DataLayer } from '../../shared/operations/data-layer.ts'

export interface SweepOptions {
  /** Only items that have waited longer than this (younger ones are most likely being finished right now). */
  olderThanMs?: number
  now?: Date
}

/**
 * The sweeper (a CronJob in the cluster, a timer in the local stack): settles what writers left
 * undone, delivers owed events, and takes up report imports nobody advanced for a while (their
 * processor died or drained), oldest first.
 */
export async function sweepOutbox (data: DataLayer, { olderThanMs = 30_000, now = new Date() }: SweepOptions = {}): Promise<{ settled: number, delivered: number, imports: number }> {
  let settled = 0
  let delivered = 0
  let imports = 0
  // An import that finishes hands its scope to the next one in line: taken up at once, not at the next sweep.
  const takeUp = async (tenant: string, importId: string): Promise<void> => {
    const next: string[] = []
    if (await processImport(data, tenant, importId, { owner: `sweeper:${randomUUID()}`, onTurn: (id) => next.push(id) })) imports++
    for (const id of next) await takeUp(tenant, id)
  }
  for (const entry of await data.outbox.due(new Date(now.getTime() - olderThanMs))) {
    if (entry.kind === 'record') {
      await data.publisher.settle(entry.tenant, entry.stored)
      settled++
    } else if (entry.kind === 'import') {
      await takeUp(entry.tenant, entry.importId)
    } else if (await data.publisher.deliver(entry.tenant, entry.recordId, entry.change, entry.data)) {
      delivered++
    }
  }
  return { settled, delivered, imports }
}
