import { createHash } from 'node:crypto'
import type { ImportAsset, RunScope } from './report-format.ts'

const hashed = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22)

/**
 * The key of a scope: the format, the run's tool and category, and the asset as a whole — its
 * name, type and environment — so that `shop` in development and `shop` in production never
 * share records. It starts every fingerprint the format makes in the scope, and it is the
 * ownership mark the import writes on the records it creates (never a field a client can send).
 */
export function scopeKey (format: string, scope: RunScope, asset: ImportAsset): string {
  return `${format}:${hashed([scope.tool, scope.category, asset.name, asset.type, asset.environment ?? null])}:`
}

/**
 * How fingerprints of a scope started before the asset's type and environment were part of it:
 * what a record an earlier version of the import created carries (./legacy-records.ts).
 */
export function legacyScopePrefix (format: string, scope: RunScope, assetName: string): string {
  return `${format}:${hashed([scope.tool, scope.category, assetName])}:`
}

/** The scopes of a report's runs, each once, in the order of the runs. */
export function uniqueScopes (scopes: RunScope[]): RunScope[] {
  return [...new Map(scopes.map((scope) => [JSON.stringify([scope.tool, scope.category]), { tool: scope.tool, category: scope.category }])).values()]
}
