import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { v7 as uuidv7 } from 'uuid'
import { invalidReport, NotFoundError, type FieldError } from '../errors.ts'
import { emptyCounts, type ReportImport } from '../records/report-import.ts'
import { runContext, SARIF_VERSION, scopePrefix, type ImportAsset, type ImportScope, type LogPiece, type RunContext } from '../records/sarif.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from './data-layer.ts'
import type { RequestContext } from './request-context.ts'

const compress = promisify(gzip)

/** Results per chunk: the unit of work between two checkpoints. */
const CHUNK_RESULTS = 100
/** Text per chunk before compression. */
const CHUNK_TEXT = 512 * 1024
/** Compressed bytes per stored part: DynamoDB items hold 400 KB, keys and attributes included. */
export const MAX_PART_BYTES = 350 * 1024
/** Results per report (the API promises at least 25 000). */
export const MAX_RESULTS = 50_000

/** A run context as stored with the import: whether the run computed results at all. */
export interface StoredRun extends RunContext {
  resultsPresent: boolean
}

export interface ReportTarget {
  asset: ImportAsset
  /** The analysis category for runs whose `automationDetails.id` names none. */
  category?: string
}

/**
 * Receives a SARIF log as it streams in (`POST /v1/imports`): each run's results are stored in
 * compressed chunks as they arrive, the runs' contexts once the log is complete, then the import
 * is recorded as queued. Nothing of the report is held in memory but the chunk being filled. A log
 * that is not SARIF 2.1.0 is a 422 naming what is wrong; its chunks are left to expire.
 */
export async function receiveReport (data: DataLayer, context: RequestContext, target: ReportTarget, pieces: AsyncIterable<LogPiece>): Promise<ImportState> {
  const { tenant } = context.actor
  const id = uuidv7()
  const runs = new Map<number, { members: Record<string, unknown>, resultsPresent: boolean }>()
  const runOf = (index: number) => runs.get(index) ?? runs.set(index, { members: {}, resultsPresent: false }).get(index)!
  let version: unknown
  let results = 0
  let chunkCount = 0
  let entries: string[] = []
  let text = 0

  const flush = async () => {
    if (entries.length === 0) return
    for (const part of await compressedChunks(entries)) await data.imports.putPart(tenant, id, 'CHUNK', chunkCount++, part, context.now)
    entries = []
    text = 0
  }

  for await (const piece of pieces) {
    if (piece.kind === 'version') {
      version = piece.value
      // Refused as soon as it is read, not after the rest of the report.
      if (version !== SARIF_VERSION) throw invalidReport([{ path: '/version', message: `must be "${SARIF_VERSION}" (got ${JSON.stringify(version).slice(0, 50)})` }])
    } else if (piece.kind === 'run') {
      runOf(piece.run)
    } else if (piece.kind === 'runMember') {
      runOf(piece.run).members[piece.key] = piece.value
    } else if (piece.kind === 'results') {
      runOf(piece.run).resultsPresent = true
    } else {
      if (++results > MAX_RESULTS) throw invalidReport([{ path: `/runs/${piece.run}/results`, message: `the report has more than ${MAX_RESULTS} results; split it by run or category` }])
      entries.push(`[${piece.run},${piece.index},${piece.json}]`)
      text += piece.json.length
      if (entries.length >= CHUNK_RESULTS || text >= CHUNK_TEXT) await flush()
    }
  }
  await flush()

  const problems: FieldError[] = []
  if (version === undefined) problems.push({ path: '/version', message: `is required ("${SARIF_VERSION}")` })
  if (runs.size === 0) problems.push({ path: '/runs', message: 'must hold at least one run (a scan without findings is a run with an empty results array)' })
  const contexts: StoredRun[] = []
  for (const [index, run] of [...runs.entries()].sort(([a], [b]) => a - b)) {
    const mapped = runContext(run.members, target.category)
    if (typeof mapped === 'string') problems.push({ path: `/runs/${index}`, message: mapped })
    else contexts[index] = { ...mapped, resultsPresent: run.resultsPresent }
  }
  if (problems.length > 0) throw invalidReport(problems)

  const runParts = await storeBlob(data, tenant, id, contexts, context.now)
  const scopes = uniqueScopes(contexts.map((run) => ({ tool: run.tool.name, category: run.category, asset: target.asset.name })))
  const state: ImportState = {
    id,
    tenant,
    status: 'queued',
    tool: contexts[0]!.tool,
    scope: scopes[0]!,
    scopes,
    asset: target.asset,
    counts: emptyCounts(results),
    errors: [],
    createdAt: context.now.toISOString(),
    finishedAt: null,
    createdBy: context.actor.sub,
    actor: { sub: context.actor.sub, clientId: context.actor.clientId },
    chunkCount,
    runParts,
    processedChunks: 0
  }
  await data.imports.create(tenant, state)
  return state
}

/** An import of the caller's tenant as the API shows it; another tenant's is a 404 like a missing one. */
export async function getImport (data: DataLayer, context: RequestContext, id: string): Promise<ReportImport> {
  const state = await data.imports.get(context.actor.tenant, id)
  if (!state) throw new NotFoundError(`No import with id ${id}`)
  return importView(state)
}

export function importView (state: ImportState): ReportImport {
  const { id, status, tool, scope, scopes, asset, counts, errors, createdAt, finishedAt, createdBy } = state
  return { id, status, tool, scope, scopes, asset, counts, errors, createdAt, finishedAt: finishedAt ?? null, createdBy }
}

function uniqueScopes (scopes: ImportScope[]): ImportScope[] {
  return [...new Map(scopes.map((scope) => [scopePrefix(scope), scope])).values()]
}

/**
 * The chunk's entries (`[run, index, result]`) compressed, in as many parts as the item limit
 * needs; a single result too large for a part is kept as `null`, to be rejected by name.
 */
async function compressedChunks (entries: string[]): Promise<Buffer[]> {
  const compressed = await compress(`[${entries.join(',')}]`)
  if (compressed.length <= MAX_PART_BYTES) return [compressed]
  if (entries.length === 1) return [await compress(`[${entries[0]!.replace(/^\[(\d+),(\d+),[\s\S]*\]$/, '[$1,$2,null]')}]`)]
  const half = Math.ceil(entries.length / 2)
  return [...await compressedChunks(entries.slice(0, half)), ...await compressedChunks(entries.slice(half))]
}

/** Stores a JSON value compressed, split over as many parts as it needs; returns how many. */
async function storeBlob (data: DataLayer, tenant: string, id: string, value: unknown, now: Date): Promise<number> {
  const compressed = await compress(JSON.stringify(value))
  let parts = 0
  for (let offset = 0; offset < compressed.length || parts === 0; offset += MAX_PART_BYTES) {
    await data.imports.putPart(tenant, id, 'RUNS', parts++, compressed.subarray(offset, offset + MAX_PART_BYTES), now)
  }
  return parts
}
