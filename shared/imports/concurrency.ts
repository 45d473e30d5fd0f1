/** Results applied at once (distinct fingerprints only: one fingerprint is never raced with itself). */
export const CONCURRENCY = 16

/**
 * Runs `work` over `items`, at most `concurrency` at a time. After a failure no item is started,
 * and the failure is thrown once the ones under way have ended (nothing keeps writing behind it).
 */
export async function inPool<T> (items: readonly T[], work: (item: T) => Promise<void>, concurrency = CONCURRENCY): Promise<void> {
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]!)
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  const failure = outcomes.find((outcome) => outcome.status === 'rejected')
  if (failure) throw failure.reason
}

/** A promise awaited later, maybe not at all (processing stopped first): its failure is no unhandled rejection meanwhile. */
export function ignoredUntilAwaited<T> (promise: Promise<T>): Promise<T> {
  promise.catch(() => {})
  return promise
}

/**
 * Whether `before` held (it resolves to a boolean), once `writing` ended too: a failure of either
 * is thrown only then, so nothing keeps writing behind it.
 */
export async function whenBothEnded (before: Promise<boolean>, writing: Promise<void>): Promise<boolean> {
  const [held, written] = await Promise.allSettled([before, writing])
  if (held.status === 'rejected') throw held.reason
  if (written.status === 'rejected') throw written.reason
  return held.value
}
