import type { ValidateFunction } from 'ajv'
import { RecordCreate } from '../records/schema.ts'
import { bodyAjv, toFieldErrors } from '../validation.ts'
import { scopeKey } from './import-scope.ts'
import { resultPointer, type ImportAsset, type MappedResult, type ReportFormat, type RunBase, type RunScope } from './report-format.ts'
import type { ChunkEntry } from './stored-report.ts'

/**
 * One result of a chunk, mapped: where it is in the report, its run's scope and that scope's key
 * (the mark of the records it creates), and the request id its writes carry.
 */
export interface ChunkResult {
  path: string
  requestId: string
  scope: RunScope
  scopeKey: string
  mapped: MappedResult
}

let validateFinding: ValidateFunction<RecordCreate> | undefined

/** A chunk's results, each mapped by its format and checked against the record schema. */
export function mapChunk (format: ReportFormat, importOf: { id: string, asset: ImportAsset }, runs: readonly RunBase[], entries: readonly ChunkEntry[]): ChunkResult[] {
  validateFinding ??= bodyAjv.compile<RecordCreate>(RecordCreate)
  return entries.map(([run, index, result, tooLarge]) => {
    const path = resultPointer(format.paths, run, index)
    const requestId = `${importOf.id}:${run}:${index}`
    const scope = { tool: runs[run]!.tool.name, category: runs[run]!.category }
    const at = { path, requestId, scope, scopeKey: scopeKey(format.name, scope, importOf.asset) }
    if (result === null) return { ...at, mapped: { kind: 'rejected', message: tooLarge ?? 'the result is too large to import (over 350 KB compressed)' } }
    const mapped = format.mapResult(result, runs[run]!, importOf.asset, importOf.id)
    if (mapped.kind !== 'finding') return { ...at, mapped }
    const { finding, legacyFingerprint } = mapped
    const { fingerprint } = finding
    if (!validateFinding!(finding)) {
      const [first] = toFieldErrors(validateFinding!.errors ?? [])
      // Its fingerprint is known: the result is reported, only not recordable.
      const message = `the record it maps to is invalid: ${first?.path ?? ''} ${first?.message ?? ''}`.trim()
      return { ...at, mapped: { kind: 'rejected', message, fingerprint, ...(legacyFingerprint === undefined ? {} : { legacyFingerprint }) } }
    }
    return { ...at, mapped }
  })
}

/** The fingerprint a mapped result has, if any (a rejected result may have one). */
function fingerprintOf (mapped: MappedResult): string | undefined {
  return mapped.kind === 'finding' ? mapped.finding.fingerprint : mapped.kind === 'rejected' ? mapped.fingerprint : undefined
}

/**
 * Tells apart results of a report that map to one fingerprint (a tool reporting one rule twice
 * at one place with one message): the n-th repeat, in report order, gets the fingerprint with
 * `#n` appended. Report order is what a scanner writes deterministically for the same code, so
 * an identical re-import gives every result the fingerprint it had; only the first of them
 * takes over a record of an earlier scheme (`legacyFingerprint`), which held just one of them.
 * Chunks must be passed in order, each once, those applied before an interruption included.
 */
export class RepeatedResults {
  private readonly seen = new Map<string, number>()

  tellApart (results: ChunkResult[]): ChunkResult[] {
    return results.map((result) => {
      const fingerprint = fingerprintOf(result.mapped)
      if (fingerprint === undefined) return result
      const repeat = this.seen.get(fingerprint) ?? 0
      this.seen.set(fingerprint, repeat + 1)
      if (repeat === 0) return result
      const distinct = `${fingerprint}#${repeat}`
      if (result.mapped.kind === 'rejected') return { ...result, mapped: { kind: 'rejected', message: result.mapped.message, fingerprint: distinct } }
      const { kind, scope, finding } = result.mapped as Extract<MappedResult, { kind: 'finding' }>
      return { ...result, mapped: { kind, scope, finding: { ...finding, fingerprint: distinct } } }
    })
  }
}

/** The distinct fingerprints of a chunk's findings. */
export function fingerprintsOf (results: readonly ChunkResult[]): string[] {
  return [...new Set(results.flatMap(({ mapped }) => mapped.kind === 'finding' ? [mapped.finding.fingerprint] : []))]
}

/** The fingerprints of a chunk's findings that may take over a record of the earlier scheme: each with the legacy fingerprint it takes over. */
export function legacyFingerprintsOf (results: readonly ChunkResult[]): Map<string, string> {
  return new Map(results.flatMap(({ mapped }) => mapped.kind === 'finding' && mapped.legacyFingerprint !== undefined ? [[mapped.finding.fingerprint, mapped.legacyFingerprint]] : []))
}

/**
 * The fingerprints a report has reported so far, per scope: what resolving the missing ones
 * keeps. A rejected result counts with its fingerprint; one whose fingerprint is unknown (no
 * rule, too large) could be any record of its scope, so that scope resolves nothing.
 */
export class ReportedFingerprints {
  private readonly byScope = new Map<string, Set<string>>()
  private readonly unidentified = new Map<string, number>()
  private readonly format: string
  private readonly asset: ImportAsset

  constructor (format: string, asset: ImportAsset) {
    this.format = format
    this.asset = asset
  }

  /** Adds a chunk's results; returns those of its fingerprints that earlier chunks reported already. */
  add (results: readonly ChunkResult[]): Set<string> {
    const earlier = new Set<string>()
    for (const { mapped, scope } of results) {
      const fingerprint = fingerprintOf(mapped)
      if (fingerprint !== undefined && this.of(scope).has(fingerprint)) earlier.add(fingerprint)
    }
    for (const { mapped, scope } of results) {
      const fingerprint = fingerprintOf(mapped)
      if (fingerprint !== undefined) this.of(scope).add(fingerprint)
      // A record of the earlier scheme that this result could not take over is reported too.
      if (fingerprint !== undefined && mapped.kind !== 'skipped' && mapped.legacyFingerprint !== undefined) this.of(scope).add(mapped.legacyFingerprint)
      if (fingerprint === undefined && mapped.kind === 'rejected') this.unidentified.set(this.key(scope), this.unidentifiedIn(scope) + 1)
    }
    return earlier
  }

  /** The fingerprints reported in a scope. */
  of (scope: RunScope): Set<string> {
    const key = this.key(scope)
    return this.byScope.get(key) ?? this.byScope.set(key, new Set()).get(key)!
  }

  /** Results of a scope rejected before their fingerprint was known. */
  unidentifiedIn (scope: RunScope): number {
    return this.unidentified.get(this.key(scope)) ?? 0
  }

  private key (scope: RunScope): string {
    return scopeKey(this.format, scope, this.asset)
  }
}
