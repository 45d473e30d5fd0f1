import { Type, type Static } from 'typebox'
import type { ListFilters } from '../records/list-filters.ts'
import { Category } from '../records/schema.ts'
import { severities, statuses, type Severity, type Status } from '../records/vocabulary.ts'

const commaList = (values: readonly string[]) => `^(${values.join('|')})(,(${values.join('|')}))*$`

/** The query string of `GET /v1/records`; anything else in it is a 400. */
export const ListQuery = Type.Object({
  status: Type.Optional(Type.String({ pattern: commaList(statuses), description: 'Comma-separated statuses, any of.', examples: ['open,triaged'] })),
  severity: Type.Optional(Type.String({ pattern: commaList(severities), description: 'Comma-separated severities, any of.', examples: ['critical,high'] })),
  category: Type.Optional(Category),
  asset: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Exact asset name.' })),
  tag: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._:-]{0,62}$', description: 'Records carrying this tag.' })),
  vulnerabilityId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Records naming this CVE/GHSA/… id.' })),
  overdue: Type.Optional(Type.Boolean({ description: '`true`: only active records past their `dueAt`.' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 25, description: 'Page size.' }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'The `nextCursor` of the previous page, with the same filters.' })),
  order: Type.Enum(['desc', 'asc'], { default: 'desc', description: 'By `createdAt`: newest first (default) or oldest first.' })
}, { additionalProperties: false })

export type ListQuery = Static<typeof ListQuery>

/** The filters of a list request, normalized so that equal queries compare equal. */
export function toListFilters (query: ListQuery): ListFilters {
  const split = <T extends string>(value: string | undefined) => (value === undefined ? undefined : [...new Set(value.split(','))].sort() as T[])
  const filters: ListFilters = { order: query.order === 'asc' ? 'asc' : 'desc' }
  const status = split<Status>(query.status)
  const severity = split<Severity>(query.severity)
  if (status) filters.status = status
  if (severity) filters.severity = severity
  if (query.category !== undefined) filters.category = query.category
  if (query.asset !== undefined) filters.asset = query.asset
  if (query.tag !== undefined) filters.tag = query.tag
  if (query.vulnerabilityId !== undefined) filters.vulnerabilityId = query.vulnerabilityId
  if (query.overdue === true) filters.overdue = true
  return filters
}
