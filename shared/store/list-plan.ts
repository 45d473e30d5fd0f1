import { overdue, type ListFilters } from '../records/list-filters.ts'
import { indexes, partitions, shardsToRead, type IndexLayout, type IndexSpec, type Shard } from './keys.ts'

export interface PartitionQuery {
  index: IndexSpec
  value: string
  filter?: { expression: string, names: Record<string, string>, values: Record<string, unknown> }
}

export interface ReadBudget {
  /** Items each partition reads in the first round of a page. */
  first: number
  /** Items one partition may read for one page, at most. */
  most: number
}

export interface ListPlan {
  /** Every shard of every partition the filters name. */
  partitions: PartitionQuery[]
  /**
   * Items one partition reads for one page. Unfiltered: at most one more than the page size (so
   * the last page is known to be the last), and first its share of that with some slack: shards
   * that turn out to hold more of the page are read again. Filtered: a fixed budget split over
   * the shards, so a page of sparse matches ends early, with a cursor, at a bounded cost.
   */
  readBudget (limit: number): ReadBudget
}

/** Items a filtered partition may read per page, at most: a page's cost is bounded. */
export const FILTERED_READ_BUDGET = 200

/**
 * Chooses the index for a list request: the most selective filter that has one (asset, then
 * status, severity, category; the whole tenant otherwise). Every plan is a set of Queries on
 * one index; the other filters narrow those Queries. Nothing here ever plans a Scan.
 */
export function planListQuery (tenant: string, filters: ListFilters, now: Date, layout: IndexLayout): ListPlan {
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
  // Overdue and only closed statuses: nothing can match, and `IN ()` is no expression at all.
  if (statuses?.length === 0) return { partitions: [], readBudget: (limit) => readBudget(limit, 1, false) }

  let index: IndexSpec
  let partitionValues: Array<(shard: Shard) => string>
  const { asset, category } = filters
  if (asset !== undefined) {
    index = indexes.byAsset
    partitionValues = [(shard) => partitions.byAsset(tenant, asset, shard)]
    if (statuses) anyOf('status', statuses)
    if (filters.severity) anyOf('severity', filters.severity)
    if (filters.category) anyOf('category', [filters.category])
  } else if (statuses) {
    index = indexes.byStatus
    partitionValues = [...new Set(statuses)].map((status) => (shard) => partitions.byStatus(tenant, status, shard))
    if (filters.severity) anyOf('severity', filters.severity)
    if (filters.category) anyOf('category', [filters.category])
  } else if (filters.severity) {
    index = indexes.bySeverity
    partitionValues = [...new Set(filters.severity)].map((severity) => (shard) => partitions.bySeverity(tenant, severity, shard))
    if (filters.category) anyOf('category', [filters.category])
  } else if (category) {
    index = indexes.byCategory
    partitionValues = [(shard) => partitions.byCategory(tenant, category, shard)]
  } else {
    index = indexes.byTenant
    partitionValues = [(shard) => partitions.byTenant(tenant, shard)]
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
  const shards = shardsToRead(layout)
  return {
    partitions: partitionValues.flatMap((value) => shards.map((shard) => ({ index, value: value(shard), ...(filter ? { filter } : {}) }))),
    readBudget: (limit) => readBudget(limit, shards.length, filter !== undefined)
  }
}

/**
 * Hashing spreads a page over the shards evenly: each holds about (limit + 1) / shards of it.
 * Reading half as much again as that share, plus one, fills most pages in one round.
 */
function readBudget (limit: number, shards: number, filtered: boolean): ReadBudget {
  if (filtered) {
    const most = Math.ceil(Math.max(limit + 1, FILTERED_READ_BUDGET) / shards)
    return { first: most, most }
  }
  const most = limit + 1
  return { first: shards === 1 ? most : Math.min(most, Math.ceil((1.5 * most) / shards) + 1), most }
}
