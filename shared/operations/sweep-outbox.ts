import type { DataLayer } from './data-layer.ts'

export interface SweepOptions {
  /** Only items that have waited longer than this (younger ones are most likely being finished right now). */
  olderThanMs?: number
  now?: Date
}

/**
 * The sweeper (a CronJob in the cluster, a timer in the local stack): settles what writers left
 * undone and delivers owed events, oldest first.
 */
export async function sweepOutbox (data: DataLayer, { olderThanMs = 30_000, now = new Date() }: SweepOptions = {}): Promise<{ settled: number, delivered: number }> {
  let settled = 0
  let delivered = 0
  for (const entry of await data.outbox.due(new Date(now.getTime() - olderThanMs))) {
    if (entry.kind === 'record') {
      await data.publisher.settle(entry.tenant, entry.stored)
      settled++
    } else if (await data.publisher.deliver(entry.tenant, entry.recordId, entry.change, entry.data)) {
      delivered++
    }
  }
  return { settled, delivered }
}
