import { createHash } from 'node:crypto'
import type { ImportScope } from './report-format.ts'

/**
 * The start of every fingerprint a format makes for a scope (tool, category, asset): the records
 * of a scope are found by it, and each format's fingerprints stay apart from every other's.
 */
export function scopePrefix (format: string, scope: ImportScope): string {
  const hash = createHash('sha256').update(JSON.stringify([scope.tool, scope.category, scope.asset])).digest('base64url')
  return `${format}:${hash.slice(0, 22)}:`
}

/** The scopes of a report's runs, each once, in the order of the runs. */
export function uniqueScopes (format: string, scopes: ImportScope[]): ImportScope[] {
  return [...new Map(scopes.map((scope) => [scopePrefix(format, scope), scope])).values()]
}
