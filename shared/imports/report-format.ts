import type { FieldError } from '../errors.ts'
import type { ImportAsset, ImportScope, RunScope } from '../records/report-import.ts'
import type { RecordCreate } from '../records/schema.ts'

export type { ImportAsset, ImportScope, RunScope }

/**
 * What a scanner report format supplies to the import; everything else (receiving, chunks,
 * leases, checkpoints, applying results, resolving missing ones) is the same for every format.
 * A format is a folder under `shared/imports/` and one line in `formats.ts`.
 */
export interface ReportFormat<Run extends RunBase = RunBase> {
  /** Short name: stored with each import, and the first part of the fingerprints it makes. */
  name: string
  /** As a person names it (`SARIF 2.1.0`). */
  title: string
  /** Media types a report of this format is sent as. */
  mediaTypes: readonly string[]
  /**
   * How the start of a document of this format reads, when it is sent as `application/json`
   * (`"bomFormat": "CycloneDX"`); a document no format recognises is read as the first format.
   */
  recognise?: RegExp
  /** Where the streaming scanner finds the runs, their results and the members mapping needs. */
  paths: ScanPaths
  /**
   * Whether the document is of this format (its profile), from its header members: problems are
   * refused as soon as they are seen (`complete` false) and once the document ended (`complete` true).
   */
  checkHeader (header: Readonly<Record<string, unknown>>, complete: boolean): FieldError[]
  /**
   * Reduces a run's kept members to what its results are mapped with; a message when it is not a
   * run of this format. `named`: with `contextKeys`, the keys the run's results name (the context
   * needs nothing else).
   */
  runContext (members: Readonly<Record<string, unknown>>, fallbackCategory: string | undefined, named?: ReadonlySet<string>): Run | string
  /**
   * The keys of its run's context one result (or part of one) is mapped with (CycloneDX: the
   * component its `affects` ref names), gathered as the results stream by: the context is stored
   * with only what some result names, however many components the BOM lists.
   */
  contextKeys? (result: unknown): string[]
  /** Maps one result of a run to a record body, or says why it is none. */
  // A method, so that a format's own run type stands where the pipeline passes what the format made.
  mapResult (result: unknown, run: Run, asset: ImportAsset, importId: string): MappedResult
  /**
   * Splits one result of the report into the results it stands for, each with the pointer below
   * the result it is at (a CycloneDX vulnerability is one finding per component it affects):
   * each part counts, is applied and is rejected as a result of its own. Without it a result is one.
   */
  splitResult? (result: unknown): Array<{ pointer: string, result: unknown }>
}

/** The JSON Pointer of a run's result (`index` is the result's, or the result's and its part's). */
export function resultPointer (paths: ScanPaths, run: number, index: number | string): string {
  return paths.runs === undefined ? `/${paths.results}/${index}` : `/${paths.runs}/${run}/${paths.results}/${index}`
}

/** The JSON Pointer of a run. */
export function runPointer (paths: ScanPaths, run: number): string {
  return paths.runs === undefined ? '' : `/${paths.runs}/${run}`
}

/**
 * The shape of a report the scanner walks: a JSON object whose `runs` member is an array of run
 * objects, each holding its results in an array member. Only the listed members are kept.
 */
export interface ScanPaths {
  /** How a message names the whole document (`a SARIF log`). */
  document: string
  /** Members of the document read whole (the format's profile: SARIF's `version`). */
  header: readonly string[]
  /**
   * The document's member holding the runs (required, an array of objects); absent when the
   * document is itself the one run (CycloneDX, OpenVEX): its members are then the run's.
   */
  runs?: string
  /** Members of each run read whole (what mapping needs); every other member is checked, not kept. */
  runMembers: readonly string[]
  /**
   * A member of each run that is a list streamed element by element (an array of objects), each
   * element reduced to the `keep` members that are strings; an element's member of the same name
   * is a nested list of the same kind (CycloneDX: `components`, each reduced to its `bom-ref`,
   * name, version and purl, nested components included). Nothing else of an element is kept.
   * `key`: the kept member that names an element (what `contextKeys` gives).
   */
  streamed?: { member: string, keep: readonly string[], key: string }
  /** The member of a run holding its results (an array); each result is handed out as its JSON text. */
  results: string
  /** The results member may be null: a run that reports none (SARIF: the tool did not run). */
  resultsMayBeNull?: boolean
}

/**
 * A report as the scanner hands it out, piece by piece: the header members, the start of each
 * run, its kept members, each element of its streamed list (reduced, as it ends), the start of
 * its results (a run without them computed none, which is not the same as finding none), and each
 * result as JSON text (or, over the scanner's bounds, why it is not kept).
 */
export type LogPiece =
  | { kind: 'header', key: string, value: unknown }
  | { kind: 'run', run: number }
  | { kind: 'runMember', run: number, key: string, value: unknown }
  | { kind: 'element', run: number, key: string, value: Record<string, string> }
  | { kind: 'results', run: number }
  | { kind: 'result', run: number, index: number, json: string }
  | { kind: 'oversized', run: number, index: number, reason: string }

/** What every run context says: the tool and the analysis category (with the asset, its scope). */
export interface RunBase {
  tool: { name: string, version?: string }
  category: string
}

/** A record body an import writes: a finding with its fingerprint. */
export type ImportedFinding = RecordCreate & { fingerprint: string }

/**
 * One result, mapped: a record body with its fingerprint, or why it is not one. A fingerprint
 * starts with its scope's key (import-scope.ts) and identifies the result within its rule; results
 * of a report that still share one are told apart by their order (map-chunk.ts). `legacyFingerprint`:
 * what the format made of the same result before the asset's type and environment were part of the
 * scope (a record holding it is taken over, not duplicated); a new format has none. A rejected
 * result whose fingerprint is known still counts as reported: it never resolves its record.
 */
export type MappedResult =
  | { kind: 'finding', scope: ImportScope, finding: ImportedFinding, legacyFingerprint?: string }
  | { kind: 'skipped', reason: string }
  | { kind: 'rejected', message: string, fingerprint?: string, legacyFingerprint?: string }

/** The reason an import gives a record a report suppressed; the re-import rules know it by this start. */
export const SUPPRESSION_REASON_PREFIX = 'Suppressed in the scanner report'
