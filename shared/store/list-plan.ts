import { overdue, type ListFilters } from '../records/list-filters.ts'
import { indexes, partitions, type IndexSpec } from './keys.ts'

export interface PartitionQuery {
  index: IndexSpec
  value: string
  filter?: { expression: string, names: Record<string, string>, values: Record<string, unknown> }
}

export interface ListPlan {
  partitions: PartitionQuery[]
  /**
   * Items one partition may read for one page: one more than the page size (so the last page is
   * known to be the last), or more when a filter may drop items.
   */
  readBudget (limit: number): number
}

/** Items a filtered partition may read per page, at most: a page's cost is bounded. */
export const FILTERED_READ_BUDGET = 200

/**
 * Chooses the index for a list request: the most selective filter that has one (asset, then
 * status, severity, category; the whole tenant otherwise). Every plan is a set of Queries on
 * one index; the other filters narrow those Queries. Nothing here ever plans a Scan.
 */
export function planListQuery (tenant: string, filters: ListFilters, now: Date): ListPlan {
  const conditions: string[] = []
  const names: Record<string, string> = {}
  const values: Record<string, unknown> = {}
  const anyOf = (attribute: string, list: readonly string[]) => {
    names[`#${attribute}`] = attribute
    const placeholders = list.map((value, i) => {
      values[`:${attribute}${i}`] = value
      return `:${attribute}${i}`
    })
    conditions.push(`#${attribute} IN (${placeholders.join(', ')})`)
  }

  // Overdue findings are active ones, so overdue narrows the statuses to query.
  const statuses = filters.overdue ? overdue.statuses(filters.status) : filters.status

  let index: IndexSpec
  let partitionValues: string[]
  if (filters.asset !== undefined) {
    index = indexes.byAsset
    partitionValues = [partitions.byAsset(tenant, filters.asset)]
    if (statuses) anyOf('status', statuses)
    if (filters.severity) anyOf('severity', filters.severity)
    if (filters.category) anyOf('category', [filters.category])
  } else if (statuses) {
    index = indexes.byStatus
    partitionValues = statuses.map((status) => partitions.byStatus(tenant, status))
    if (filters.severity) anyOf('severity', filters.severity)
    if (filters.category) anyOf('category', [filters.category])
  } else if (filters.severity) {
    index = indexes.bySeverity
    partitionValues = filters.severity.map((severity) => partitions.bySeverity(tenant, severity))
    if (filters.category) anyOf('category', [filters.category])
  } else if (filters.category) {
    index = indexes.byCategory
    partitionValues = [partitions.byCategory(tenant, filters.category)]
  } else {
    index = indexes.byTenant
    partitionValues = [partitions.byTenant(tenant)]
  }
  if (filters.tag !== undefined) {
    names['#tags'] = 'tags'
    values[':tag'] = filters.tag
    conditions.push('contains(#tags, :tag)')
  }
  if (filters.vulnerabilityId !== undefined) {
    names['#vulnerabilityIds'] = 'vulnerabilityIds'
    values[':vulnerabilityId'] = filters.vulnerabilityId
    conditions.push('contains(#vulnerabilityIds, :vulnerabilityId)')
  }
  if (filters.overdue) {
    names['#dueAt'] = 'dueAt'
    values[':now'] = overdue.dueBefore(now)
    conditions.push('#dueAt < :now')
  }

  const filter = conditions.length > 0 ? { expression: conditions.join(' AND '), names, values } : undefined
  return {
    partitions: [...new Set(partitionValues)].map((value) => ({ index, value, ...(filter ? { filter } : {}) })),
    readBudget: (limit) => (filter ? Math.max(limit + 1, FILTERED_READ_BUDGET) : limit + 1)
  }
}
