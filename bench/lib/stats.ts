import { performance } from 'node:perf_hooks'

/** Latency percentiles of one measured operation, in milliseconds. */
export interface LatencySummary {
  samples: number
  p50: number
  p99: number
  mean: number
  min: number
  max: number
}

export function summarize (samples: number[]): LatencySummary {
  if (samples.length === 0) throw new Error('no samples to summarize')
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
  return {
    samples: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    min: sorted[0]!,
    max: sorted.at(-1)!
  }
}

export function median (values: number[]): number {
  return summarize(values).p50
}

export interface ThroughputSummary {
  /** Completed operations per second over the whole window. */
  perSecond: number
  completed: number
  errors: number
  latency: LatencySummary
}

/**
 * Closed-loop throughput: `concurrency` workers each run the operation back to back until the
 * window closes. Used for the direct SDK calls (autocannon drives the HTTP side).
 */
export async function measureClosedLoop (concurrency: number, durationMs: number, operation: (index: number) => Promise<unknown>): Promise<ThroughputSummary> {
  let next = 0
  let errors = 0
  const samples: number[] = []
  const started = performance.now()
  const deadline = started + durationMs
  const worker = async () => {
    while (performance.now() < deadline) {
      const index = next++
      const begin = performance.now()
      try {
        await operation(index)
        samples.push(performance.now() - begin)
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = performance.now() - started
  if (samples.length === 0) throw new Error(`no operation completed in ${durationMs} ms (${errors} errors)`)
  return { perSecond: samples.length / (elapsed / 1000), completed: samples.length, errors, latency: summarize(samples) }
}

/**
 * Latency at concurrency 1 of several variants of one operation (function, direct SDK, ...),
 * taken in alternating slices of `slice` calls, so that load elsewhere on the machine (other
 * test runs share it) falls on all of them alike. `before` runs ahead of each timed call, untimed.
 */
export async function measureInterleaved<K extends string> (
  variants: Record<K, (index: number) => Promise<unknown>>,
  { count, warmup, slice = 10, before }: { count: number, warmup: number, slice?: number, before?: (name: K) => Promise<unknown> }
): Promise<Record<K, LatencySummary>> {
  const names = Object.keys(variants) as K[]
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>
  const indexes = Object.fromEntries(names.map((name) => [name, 0])) as Record<K, number>
  for (const name of names) for (let i = 0; i < warmup; i++) await variants[name](indexes[name]++)
  for (let done = 0; done < count; done += slice) {
    for (const name of names) {
      for (let i = done; i < Math.min(count, done + slice); i++) {
        // Untimed: what each call needs done first (e.g. a change that invalidates a cache).
        if (before) await before(name)
        const started = performance.now()
        await variants[name](indexes[name]++)
        samples[name].push(performance.now() - started)
      }
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarize(samples[name])])) as Record<K, LatencySummary>
}
