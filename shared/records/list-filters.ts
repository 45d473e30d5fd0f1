import type { Category, Severity, Status } from './vocabulary.ts'
import { activeStatuses } from './workflow.ts'

/** What a list request asks for, normalized so that equal queries compare equal. */
export interface ListFilters {
  status?: Status[]
  severity?: Severity[]
  category?: Category
  asset?: string
  tag?: string
  vulnerabilityId?: string
  overdue?: boolean
  order: 'asc' | 'desc'
}

/**
 * What "overdue" means: a finding that still needs work (an active status) whose `dueAt` has
 * passed. Narrows the statuses a list may return: overdue ∧ status=resolved is empty.
 */
export const overdue = {
  statuses (requested: readonly Status[] | undefined): Status[] {
    return (requested ?? activeStatuses).filter((status) => activeStatuses.includes(status))
  },
  /** A record with `dueAt` before this instant is overdue (ISO strings compare in time order). */
  dueBefore (now: Date): string {
    return now.toISOString()
  }
}
