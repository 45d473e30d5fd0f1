import { ServerBusyError } from './oauth-errors.ts'

/**
 * The scrypt work one instance does at once. scrypt runs on libuv's four-thread pool, which the
 * store client and the file system share: two checks at a time leave room for them, and keep a
 * check's own time near its idle time however many wait (bench/README.md).
 */
export const SECRET_CHECK_LIMITS = {
  concurrency: 2,
  /** Checks waiting per lane; one more is refused with 503 rather than queued for seconds. */
  maxWaitingPerLane: 64,
  /** When both lanes wait, trusted checks take this many turns for each other one: first, but never starving the rest. */
  trustedTurns: 3
} as const

/** Trusted pairs (see guessing-throttle.ts) go first, mostly; within a lane, waiting checks take turns by `key`. */
export interface SecretCheckTicket {
  trusted: boolean
  /** Whose turn this is: the client for trusted pairs, the address for everyone else. */
  key: string
}

export interface SecretCheckQueue {
  run<T> (ticket: SecretCheckTicket, check: () => Promise<T>): Promise<T>
}

/**
 * A bounded, fair queue in front of secret verification. Without it a flood of 300 wrong secrets
 * put 300 scrypt runs ahead of every legitimate request (seconds of waiting); here a trusted client
 * waits for at most the checks already running, and a flood from one address or one client id
 * takes turns with everyone else instead of going first.
 */
export function createSecretCheckQueue (): SecretCheckQueue {
  const { concurrency, maxWaitingPerLane, trustedTurns } = SECRET_CHECK_LIMITS
  // Per lane, the waiting checks of each key, keys in turn order (a Map keeps insertion order).
  const lanes = { trusted: new Map<string, Array<() => void>>(), other: new Map<string, Array<() => void>>() }
  const waiting = { trusted: 0, other: 0 }
  let running = 0
  let trustedInARow = 0

  function nextLane (): 'trusted' | 'other' | undefined {
    if (waiting.trusted > 0 && (waiting.other === 0 || trustedInARow < trustedTurns)) {
      trustedInARow++
      return 'trusted'
    }
    trustedInARow = 0
    return waiting.other > 0 ? 'other' : undefined
  }

  function startNext (): void {
    while (running < concurrency) {
      const name = nextLane()
      if (!name) return
      const lane = lanes[name]
      const [key, jobs] = lane.entries().next().value!
      const job = jobs.shift()!
      // Round robin: this key goes to the back of the turn order, if it has more waiting.
      lane.delete(key)
      if (jobs.length > 0) lane.set(key, jobs)
      waiting[name]--
      running++
      job()
    }
  }

  return {
    run (ticket, check) {
      const name = ticket.trusted ? 'trusted' : 'other'
      if (waiting[name] >= maxWaitingPerLane) {
        return Promise.reject(Object.assign(new ServerBusyError('Too many requests are waiting for client authentication; retry shortly'), { retryAfterSeconds: 1 }))
      }
      return new Promise((resolve, reject) => {
        const job = () => {
          check().then(resolve, reject).finally(() => {
            running--
            startNext()
          })
        }
        const lane = lanes[name]
        const jobs = lane.get(ticket.key)
        if (jobs) jobs.push(job)
        else lane.set(ticket.key, [job])
        waiting[name]++
        startNext()
      })
    }
  }
}
