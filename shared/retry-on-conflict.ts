export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number
  /** Whether a failure means another writer got there first: read again and retry. */
  isConflict: (error: unknown) => boolean
  /** The error once every attempt met a conflict. */
  exhausted: () => Error | Promise<Error>
}

/**
 * Runs `attempt` until it succeeds, at most `attempts` times, while it fails with a conflict
 * (optimistic concurrency: each attempt reads what it writes over afresh). Any other failure is thrown at once.
 */
export async function retryOnConflict<T> (options: RetryOptions, attempt: (index: number) => Promise<T>): Promise<T> {
  for (let index = 0; index < options.attempts; index++) {
    try {
      return await attempt(index)
    } catch (error) {
      if (!options.isConflict(error)) throw error
    }
  }
  throw await options.exhausted()
}
