import type { TSchema } from 'typebox'
import { recordHistorySchema, HistoryEntry } from '../../functions/get-record/history-schema.ts'
import { Problem } from '../../shared/http/problem.ts'
import { ReportImport } from '../../shared/records/report-import.ts'
import { Category, RecordCreate, RecordId, RecordPage, RecordPatch, SecurityRecord, Severity, Status } from '../../shared/records/schema.ts'

/**
 * The schemas the document names, each the very TypeBox schema the routes validate with.
 * Wherever the generated document holds one of them it becomes a `$ref`.
 */
export function namedSchemas (): Record<string, TSchema> {
  return {
    SecurityRecord,
    RecordCreate,
    RecordPatch,
    RecordPage,
    HistoryEntry,
    HistoryPage: recordHistorySchema.response[200].content['application/json'].schema,
    Problem,
    ProblemFieldError: Problem.properties.errors.items,
    RecordId,
    Category,
    Severity,
    Status,
    Asset: RecordCreate.properties.asset,
    CvssVector: RecordCreate.properties.cvss,
    CvssScore: SecurityRecord.properties.cvss,
    RiskAcceptance: RecordCreate.properties.riskAcceptance,
    Source: RecordCreate.properties.source,
    FieldChange: HistoryEntry.properties.changes.items,
    ReportImport
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The JSON a schema serializes to, keys sorted: two schemas are the same when these are equal. */
function canonical (value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner
    return Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  })
}

/**
 * Moves the named schemas into `components.schemas` and replaces every copy of one in `paths`
 * (and in the other components) by a `$ref`. Outermost first: a page refers to a record, not
 * to a record's severity.
 */
export function extractSchemaComponents<T extends { paths?: unknown, components?: Record<string, unknown> }> (document: T, named: Record<string, TSchema>): T {
  const plain = Object.fromEntries(Object.entries(named).map(([name, schema]) => [name, JSON.parse(JSON.stringify(schema)) as Json]))
  const nameOf = new Map(Object.entries(plain).map(([name, schema]) => [canonical(schema), name]))
  if (nameOf.size !== Object.keys(plain).length) throw new Error('two named schemas have the same shape')

  const replace = (node: Json): Json => {
    if (node === null || typeof node !== 'object') return node
    if (Array.isArray(node)) return node.map(replace)
    const name = nameOf.get(canonical(node))
    if (name) return { $ref: `#/components/schemas/${name}` }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, replace(value)]))
  }
  const children = (node: Json): Json => (node !== null && typeof node === 'object' && !Array.isArray(node)
    ? Object.fromEntries(Object.entries(node).map(([key, value]) => [key, replace(value)]))
    : node)

  return {
    ...document,
    paths: replace(document.paths as Json),
    components: {
      ...document.components,
      schemas: Object.fromEntries(Object.entries(plain).map(([name, schema]) => [name, children(schema)]))
    }
  }
}
