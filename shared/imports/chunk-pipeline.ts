import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import { applyChunk, readHoldings, type Holding, type Tally } from './apply-results.ts'
import { ignoredUntilAwaited, whenBothEnded } from './concurrency.ts'
import { fingerprintsOf, legacyFingerprintsOf, mapChunk, RepeatedResults, type ChunkResult, type ReportedFingerprints } from './map-chunk.ts'
import type { ReportFormat } from './report-format.ts'
import { readChunk, type StoredRun } from './stored-report.ts'

export interface PipelineRun {
  format: ReportFormat
  runs: StoredRun[]
  /** Who holds the lease; every checkpoint renews it, and fails once another processor took it. */
  owner: string
  leaseMs: number
  signal?: AbortSignal | undefined
  /** Counts and errors so far (from the last checkpoint on); applying adds to them. */
  tally: Tally
  /** Every chunk's fingerprints are added, those applied before an interruption included. */
  reported: ReportedFingerprints
  /** Results of distinct fingerprints applied at once (./concurrency.ts's default without it). */
  resultsInFlight?: number | undefined
}

/** How the chunks ended: all applied and checkpointed, stopped on drain, or the lease lost to another processor. */
export type PipelineEnd = 'applied' | 'drained' | 'lease lost'

/**
 * Applies an import's chunks in order, each followed by a checkpoint. Each chunk is read and
 * mapped, and its guards and records read, while the one before it is applied. A chunk's writes
 * wait for the checkpoint of the chunk two before it (a processor that lost its lease writes at
 * most one chunk more), while the chunk before it writes its history and then its checkpoint
 * (`followUps`, in chunk order). Nothing is under way once it returns or throws.
 */
export async function applyChunks (data: DataLayer, state: ImportState, pipeline: PipelineRun): Promise<PipelineEnd> {
  const { tenant, id } = state
  const { owner, leaseMs, signal, tally, reported } = pipeline
  let followUps: Array<Promise<boolean>> = []
  // Chunks are mapped in order (the next one once this one is): repeats are numbered in report order.
  const repeats = new RepeatedResults()
  const load = (chunk: number) => ignoredUntilAwaited(readChunk(data, state, chunk).then((entries) => repeats.tellApart(mapChunk(pipeline.format, state, pipeline.runs, entries))))
  try {
    let next = state.chunkCount > 0 ? load(0) : undefined
    let nextHoldings: Promise<Map<string, Holding>> | undefined
    // The fingerprints the chunk before wrote: what the early read found of them is stale.
    let written = new Set<string>()
    for (let chunk = 0; chunk < state.chunkCount; chunk++) {
      const results: ChunkResult[] = await next!
      const holdingsRead = nextHoldings
      nextHoldings = undefined
      if (chunk + 1 < state.chunkCount) next = load(chunk + 1)
      const reportedEarlier = reported.add(results)
      // Applied before an interruption: only its fingerprints are needed again.
      if (chunk < state.processedChunks) continue
      if (signal?.aborted) {
        await Promise.allSettled(followUps)
        return 'drained'
      }
      const holdings = await (holdingsRead ?? readHoldings(data, tenant, fingerprintsOf(results), legacyFingerprintsOf(results)))
      for (const fingerprint of written) holdings.delete(fingerprint)
      if (chunk + 1 < state.chunkCount) nextHoldings = ignoredUntilAwaited(next!.then((following) => readHoldings(data, tenant, fingerprintsOf(following), legacyFingerprintsOf(following))))
      // The two chunks after the last checkpoint may be applied in part already: a chunk writes
      // before the checkpoint of the chunk just before it.
      const mayBeAppliedInPart = chunk <= state.processedChunks + 1 && (state.attempts ?? 0) > 1
      const leaseHeld = followUps.length >= 2 ? followUps[followUps.length - 2]! : Promise.resolve(true)
      const inserted = await applyChunk(data, state, results, holdings, tally, leaseHeld, { reportedEarlier, mayBeAppliedInPart }, pipeline.resultsInFlight)
      if (!inserted) {
        await Promise.allSettled(followUps)
        return 'lease lost'
      }
      written = new Set(fingerprintsOf(results))
      const progress = { processedChunks: chunk + 1, counts: { ...tally.counts }, errors: [...tally.errors] }
      // The chunk's history (and events) now; its checkpoint once that is written and the one before it is.
      const before = followUps[followUps.length - 1] ?? Promise.resolve(true)
      const followUp = whenBothEnded(before, data.publisher.publishInserted(tenant, inserted))
        .then((held) => held && data.imports.checkpoint(tenant, id, owner, progress, new Date(), leaseMs))
      followUps = [...followUps.slice(-1), ignoredUntilAwaited(followUp)]
    }
    // Each follow-up is true only if the one before it was: the last says whether all were.
    return await (followUps[followUps.length - 1] ?? true) ? 'applied' : 'lease lost'
  } catch (error) {
    // Nothing keeps writing behind a failure (a checkpoint under way would renew a lease given up).
    await Promise.allSettled(followUps)
    throw error
  }
}
