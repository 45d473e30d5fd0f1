import { v7 as uuidv7 } from 'uuid'
import { invalidReport, type FieldError } from '../errors.ts'
import { emptyCounts, type ImportAsset } from '../records/report-import.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import type { RequestContext } from '../operations/request-context.ts'
import { uniqueScopes } from './import-scope.ts'
import { joinScopeLines } from './scope-turns.ts'
import { ElementSpool } from './element-spool.ts'
import { runPointer, type LogPiece, type ReportFormat } from './report-format.ts'
import { storeChunk, storeRuns, type StoredRun } from './stored-report.ts'

/** Results per chunk: the unit of work between two checkpoints. */
const CHUNK_RESULTS = 100
/** Text per chunk before compression. */
const CHUNK_TEXT = 512 * 1024
/** Results per report (the API promises at least 25 000). */
export const MAX_RESULTS = 50_000
/** Runs per report (GitHub code scanning takes 20 per file): each is a scope, a context and a stored tool. */
export const MAX_RUNS = 100

/** A result split by its format: each part's index (with its pointer), JSON text and value; a part that is the whole result keeps its text. */
function splitParts (format: ReportFormat, index: number, json: string): Array<[string, string, unknown]> {
  const whole = JSON.parse(json)
  return format.splitResult!(whole).map(({ pointer, result }) => [JSON.stringify(`${index}${pointer}`), result === whole ? json : JSON.stringify(result), result])
}

export interface ReportTarget {
  asset: ImportAsset
  /** The analysis category for runs whose own context names none. */
  category?: string
}

/**
 * Receives a report as it streams in (`POST /v1/imports`): each run's results are stored in
 * compressed chunks as they arrive, the runs' contexts once the report is complete, then the
 * import is recorded as queued. Nothing of the report is held in memory but the chunk being
 * filled. A report that is not of its format is a 422 naming what is wrong, one over a limit a 413
 * or 422 naming the limit; either way, the parts stored of it are deleted.
 */
export async function receiveReport (data: DataLayer, context: RequestContext, target: ReportTarget, format: ReportFormat, pieces: AsyncIterable<LogPiece>): Promise<ImportState> {
  const { tenant } = context.actor
  const id = uuidv7()
  const stored = { chunkCount: 0, runParts: 0 }
  try {
    const { results, contexts } = await storeReport(data, context, id, target, format, pieces, stored)
    const scopes = uniqueScopes(contexts.map((run) => ({ tool: run.tool.name, category: run.category })))
    const state: ImportState = {
      id,
      tenant,
      status: 'queued',
      format: format.name,
      tool: contexts[0]!.tool,
      scopes,
      asset: target.asset,
      counts: emptyCounts(results),
      errors: [],
      createdAt: context.now.toISOString(),
      finishedAt: null,
      createdBy: context.actor.sub,
      actor: { sub: context.actor.sub, clientId: context.actor.clientId, ...(context.actor.name === undefined ? {} : { name: context.actor.name }) },
      ...stored,
      processedChunks: 0
    }
    await data.imports.create(tenant, state)
    await joinScopeLines(data, state)
    return state
  } catch (error) {
    // No import refers to the parts stored of a refused report: they go with the refusal.
    await Promise.all([
      data.imports.deleteParts(tenant, id, 'CHUNK', stored.chunkCount),
      data.imports.deleteParts(tenant, id, 'RUNS', stored.runParts)
    ]).catch(() => {})
    throw error
  }
}

/** Stores the report's chunks and run contexts, counting the parts in `stored` as they are written. */
async function storeReport (data: DataLayer, context: RequestContext, id: string, target: ReportTarget, format: ReportFormat, pieces: AsyncIterable<LogPiece>, stored: { chunkCount: number, runParts: number }): Promise<{ results: number, contexts: StoredRun[] }> {
  const { tenant } = context.actor
  const header: Record<string, unknown> = {}
  const runs = new Map<number, { members: Record<string, unknown>, resultsPresent: boolean, named: Set<string>, spool: ElementSpool }>()
  const runOf = (index: number) => runs.get(index) ?? runs.set(index, { members: {}, resultsPresent: false, named: new Set(), spool: new ElementSpool() }).get(index)!
  let results = 0
  let entries: string[] = []
  let text = 0

  const flush = async () => {
    if (entries.length === 0) return
    stored.chunkCount += await storeChunk(data, tenant, id, stored.chunkCount, entries, context.now)
    entries = []
    text = 0
  }
  const countResult = (run: number) => {
    if (++results > MAX_RESULTS) throw invalidReport([{ path: `${runPointer(format.paths, run)}/${format.paths.results}`, message: `the report has more than ${MAX_RESULTS} results; split it by run or category` }])
  }

  for await (const piece of pieces) {
    if (piece.kind === 'header') {
      header[piece.key] = piece.value
      // Refused as soon as it is read, not after the rest of the report.
      const problems = format.checkHeader(header, false)
      if (problems.length > 0) throw invalidReport(problems)
    } else if (piece.kind === 'run') {
      if (piece.run >= MAX_RUNS) throw invalidReport([{ path: runPointer(format.paths, piece.run), message: `the report has more than ${MAX_RUNS} runs; split it` }])
      runOf(piece.run)
    } else if (piece.kind === 'runMember') {
      runOf(piece.run).members[piece.key] = piece.value
    } else if (piece.kind === 'element') {
      runOf(piece.run).spool.add(piece.value)
    } else if (piece.kind === 'results') {
      runOf(piece.run).resultsPresent = true
    } else if (piece.kind === 'oversized') {
      countResult(piece.run)
      // Kept as a result rejected with its reason: the report is imported without it.
      entries.push(JSON.stringify([piece.run, piece.index, null, `the result is too large to import: ${piece.reason}`]))
    } else {
      const parts = format.splitResult ? splitParts(format, piece.index, piece.json) : [[String(piece.index), piece.json, undefined] as const]
      for (const [index, json, part] of parts) {
        countResult(piece.run)
        if (format.contextKeys) for (const key of format.contextKeys(part ?? JSON.parse(json))) runOf(piece.run).named.add(key)
        entries.push(`[${piece.run},${index},${json}]`)
        text += json!.length
        if (entries.length >= CHUNK_RESULTS || text >= CHUNK_TEXT) await flush()
      }
    }
  }
  await flush()

  const problems: FieldError[] = format.checkHeader(header, true)
  if (runs.size === 0) problems.push({ path: `/${format.paths.runs ?? ''}`, message: 'must hold at least one run (a scan without findings is a run with an empty results array)' })
  const contexts: StoredRun[] = []
  for (const [index, run] of [...runs.entries()].sort(([a], [b]) => a - b)) {
    const { streamed } = format.paths
    // Of the streamed elements, only those the results name (all of them where the format names none).
    if (streamed) run.members[streamed.member] = run.spool.select(streamed.key, format.contextKeys ? run.named : undefined)
    const mapped = format.contextKeys ? format.runContext(run.members, target.category, run.named) : format.runContext(run.members, target.category)
    if (typeof mapped === 'string') problems.push({ path: runPointer(format.paths, index), message: mapped })
    else contexts[index] = { ...mapped, resultsPresent: run.resultsPresent }
  }
  if (problems.length > 0) throw invalidReport(problems)
  stored.runParts = await storeRuns(data, tenant, id, contexts, context.now)
  return { results, contexts }
}
