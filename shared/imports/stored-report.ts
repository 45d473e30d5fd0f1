import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import type { ImportPartKind } from '../store/keys.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import type { RunBase } from './report-format.ts'

/**
 * A received report as the import stores it: its results in compressed chunks (`CHUNK` parts,
 * entries `[run, index, result]`), and its runs' contexts in `RUNS` parts; each part well under
 * the store's item limit.
 */

const compress = promisify(gzip)
const decompress = promisify(gunzip)

/** Compressed bytes per stored part: DynamoDB items hold 400 KB, keys and attributes included. */
export const MAX_PART_BYTES = 350 * 1024

/** A run's context as stored with the import: whether the run computed results at all. */
export type StoredRun = RunBase & { resultsPresent: boolean }

/**
 * A chunk's entry: the run, the result's index in it (or, for a part of a split result, the
 * index and the part's pointer below it, as a string), and the result (null: too large to keep,
 * with why when known).
 */
export type ChunkEntry = [run: number, index: number | string, result: unknown, tooLarge?: string]

/** A fault of the stored parts, not of the moment: taking the import up again cannot help. */
export class ImportFailure extends Error {}

/**
 * Stores a chunk's entries (each `[run,index,result]` as JSON text) compressed, in as many parts as
 * the item limit needs, from part `first` on; returns how many parts it wrote.
 */
export async function storeChunk (data: DataLayer, tenant: string, id: string, first: number, entries: string[], now: Date): Promise<number> {
  const parts = await compressedChunks(entries)
  for (const [offset, part] of parts.entries()) await data.imports.putPart(tenant, id, 'CHUNK', first + offset, part, now)
  return parts.length
}

/** Stores the runs' contexts compressed, split over as many parts as they need; returns how many. */
export async function storeRuns (data: DataLayer, tenant: string, id: string, runs: StoredRun[], now: Date): Promise<number> {
  const compressed = await compress(JSON.stringify(runs))
  let parts = 0
  for (let offset = 0; offset < compressed.length || parts === 0; offset += MAX_PART_BYTES) {
    await data.imports.putPart(tenant, id, 'RUNS', parts++, compressed.subarray(offset, offset + MAX_PART_BYTES), now)
  }
  return parts
}

export async function readRuns (data: DataLayer, state: ImportState): Promise<StoredRun[]> {
  return await readParts(data, state, 'RUNS', Array.from({ length: state.runParts }, (_, i) => i)) as StoredRun[]
}

export async function readChunk (data: DataLayer, state: ImportState, chunk: number): Promise<ChunkEntry[]> {
  return await readParts(data, state, 'CHUNK', [chunk]) as ChunkEntry[]
}

async function readParts (data: DataLayer, state: ImportState, kind: ImportPartKind, indexes: number[]): Promise<unknown> {
  const parts: Uint8Array[] = []
  for (const index of indexes) {
    const part = await data.imports.getPart(state.tenant, state.id, kind, index)
    if (!part) throw new ImportFailure(`the stored report is incomplete (${kind.toLowerCase()} ${index} is missing; parts expire after 7 days)`)
    parts.push(part)
  }
  try {
    return JSON.parse((await decompress(Buffer.concat(parts))).toString('utf8'))
  } catch {
    throw new ImportFailure(`the stored report is damaged (${kind.toLowerCase()} ${indexes[0]})`)
  }
}

/**
 * The chunk's entries compressed, in as many parts as the item limit needs; a single result too
 * large for a part is kept as `null`, to be rejected by name.
 */
async function compressedChunks (entries: string[]): Promise<Buffer[]> {
  const compressed = await compress(`[${entries.join(',')}]`)
  if (compressed.length <= MAX_PART_BYTES) return [compressed]
  if (entries.length === 1) return [await compress(`[${entries[0]!.replace(/^\[(\d+),(\d+|"(?:[^"\\]|\\.)*"),[\s\S]*\]$/, '[$1,$2,null]')}]`)]
  const half = Math.ceil(entries.length / 2)
  return [...await compressedChunks(entries.slice(0, half)), ...await compressedChunks(entries.slice(half))]
}
