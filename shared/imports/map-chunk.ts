import type { ValidateFunction } from 'ajv'
import { RecordCreate } from '../records/schema.ts'
import { bodyAjv, toFieldErrors } from '../validation.ts'
import { scopePrefix } from './import-scope.ts'
import type { ImportAsset, ImportScope, MappedResult, ReportFormat, RunBase } from './report-format.ts'
import type { ChunkEntry } from './stored-report.ts'

/** One result of a chunk, mapped: where it is in the report, and the request id its writes carry. */
export interface ChunkResult {
  path: string
  requestId: string
  mapped: MappedResult
}

let validateFinding: ValidateFunction<RecordCreate> | undefined

/** A chunk's results, each mapped by its format and checked against the record schema. */
export function mapChunk (format: ReportFormat, importOf: { id: string, asset: ImportAsset }, runs: readonly RunBase[], entries: readonly ChunkEntry[]): ChunkResult[] {
  validateFinding ??= bodyAjv.compile<RecordCreate>(RecordCreate)
  return entries.map(([run, index, result, tooLarge]) => {
    const path = `/${format.paths.runs}/${run}/${format.paths.results}/${index}`
    const requestId = `${importOf.id}:${run}:${index}`
    if (result === null) return { path, requestId, mapped: { kind: 'rejected', message: tooLarge ?? 'the result is too large to import (over 350 KB compressed)' } }
    const mapped = format.mapResult(result, runs[run]!, importOf.asset, importOf.id)
    if (mapped.kind === 'finding' && !validateFinding!(mapped.finding)) {
      const [first] = toFieldErrors(validateFinding!.errors ?? [])
      return { path, requestId, mapped: { kind: 'rejected', message: `the record it maps to is invalid: ${first?.path ?? ''} ${first?.message ?? ''}`.trim() } }
    }
    return { path, requestId, mapped }
  })
}

/** The distinct fingerprints of a chunk's findings. */
export function fingerprintsOf (results: readonly ChunkResult[]): string[] {
  return [...new Set(results.flatMap(({ mapped }) => mapped.kind === 'finding' ? [mapped.finding.fingerprint] : []))]
}

/** The fingerprints a report has reported so far, per scope: what resolving the missing ones keeps. */
export class ReportedFingerprints {
  private readonly byScope = new Map<string, Set<string>>()
  private readonly format: string

  constructor (format: string) {
    this.format = format
  }

  /** Adds a chunk's findings; returns those of its fingerprints that earlier chunks reported already. */
  add (results: readonly ChunkResult[]): Set<string> {
    const earlier = new Set<string>()
    for (const { mapped } of results) {
      if (mapped.kind !== 'finding') continue
      const seen = this.of(mapped.scope)
      if (seen.has(mapped.finding.fingerprint)) earlier.add(mapped.finding.fingerprint)
    }
    for (const { mapped } of results) if (mapped.kind === 'finding') this.of(mapped.scope).add(mapped.finding.fingerprint)
    return earlier
  }

  /** The fingerprints reported in a scope. */
  of (scope: ImportScope): Set<string> {
    const prefix = scopePrefix(this.format, scope)
    return this.byScope.get(prefix) ?? this.byScope.set(prefix, new Set()).get(prefix)!
  }
}
