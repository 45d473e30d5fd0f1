/** How long a health check that succeeded answers every `/healthz` after it. */
export const HEALTH_CHECK_OK_FOR_MS = 1000

export interface CachedCheckOptions<T> {
  /** How long a healthy answer is reused. */
  okForMs?: number
  /** Whether an answer is healthy (and may be reused); a rejection never is. */
  isOk?: (answer: T) => boolean
  now?: () => number
}

/**
 * A health check answered from its last healthy answer for `okForMs`, with at most one check in
 * flight: `/healthz` needs no credentials, and however many calls arrive they cost the store (or
 * the functions) one check per period instead of one each — a flood of them pushed legitimate
 * requests into seconds. An unhealthy answer is never reused: the next call checks again, so a
 * store that is back shows at once.
 */
export function cachedCheck<T> (check: () => Promise<T>, { okForMs = HEALTH_CHECK_OK_FOR_MS, isOk = () => true, now = () => performance.now() }: CachedCheckOptions<T> = {}): () => Promise<T> {
  let healthy: { answer: T, until: number } | undefined
  let inFlight: Promise<T> | undefined
  return () => {
    if (healthy && now() < healthy.until) return Promise.resolve(healthy.answer)
    inFlight ??= check().then((answer) => {
      healthy = isOk(answer) ? { answer, until: now() + okForMs } : undefined
      return answer
    }, (error: unknown) => {
      healthy = undefined
      throw error
    }).finally(() => { inFlight = undefined })
    return inFlight
  }
}
