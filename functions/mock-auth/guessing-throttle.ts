import { isIPv6 } from 'node:net'
import { TooManyAttemptsError } from './oauth-errors.ts'

/**
 * How much secret guessing one instance lets through. Failed client authentications are counted
 * per (`client_id`, address) and per address, in fixed windows, an address being an IPv4 address
 * or an IPv6 /64. Failures at one address never refuse a client at another: the right secret
 * from a new address (a new pod, a CI runner) is checked however many wrong ones came from
 * elsewhere. A client that authenticated from an address recently has a trusted pair there: it
 * skips both limits and has its own, with room kept per client, so no other client's successes
 * push it out.
 */
export const GUESSING_LIMITS = {
  windowMs: 60_000,
  /** Failures one client_id may suffer per window from one address it has not authenticated from. */
  failuresPerClientAddress: 10,
  /** Failures one address may cause per window, whatever the client_id. */
  failuresPerAddress: 30,
  /** Failures a trusted pair may cause per window before it is refused too. */
  failuresPerTrustedPair: 10,
  /**
   * Attempts a trusted pair may have being checked at once (the others count pending attempts
   * against their failure limit): room for a client's burst, not for a burst of guesses.
   */
  pendingPerTrustedPair: 20,
  /** How long a pair stays trusted after its last success: longer than any token lives. */
  trustMs: 24 * 3_600_000,
  /** Entries each failure table keeps; the oldest goes first, so memory stays bounded under a spray of ids. */
  maxEntries: 10_000,
  /** Addresses each client is trusted at; its own oldest goes first. Only clients that proved their secret have any. */
  trustedAddressesPerClient: 1_000
} as const

export type AttemptOutcome = 'succeeded' | 'failed' | 'unchecked'

export interface AuthenticationAttempt {
  /** The pair authenticated within `trustMs`: the client and address limits do not apply. */
  trusted: boolean
  /**
   * Records the verdict. `failed` counts as a failure; `succeeded` also forgives every failure of
   * the pair, and trusts the pair; `unchecked` (never verified) counts as nothing.
   */
  settle (outcome: AttemptOutcome): void
}

export interface GuessingThrottle {
  /** Counts an attempt to authenticate `clientId` from `address`, or throws a 429 with the seconds to wait. */
  admit (clientId: string, address: string): AuthenticationAttempt
}

interface Window { failures: number, pending: number, endsAt: number }

/**
 * Fixed-window failure counters per key. Attempts still being checked count too, against
 * `pendingLimit`, so a burst of concurrent guesses is bounded before any of them is verified.
 */
function windowCounters (limit: number, pendingLimit: number, windowMs: number, maxEntries: number) {
  const windows = new Map<string, Window>()
  const live = (key: string, now: number) => {
    const window = windows.get(key)
    return window && window.endsAt > now ? window : undefined
  }
  return {
    /** Seconds until `key` may try again: the rest of the window after too many failures, 1 while too many are pending; 0 now. */
    secondsBlocked (key: string, now: number): number {
      const window = live(key, now)
      if (!window) return 0
      if (window.failures >= limit) return Math.ceil((window.endsAt - now) / 1000)
      return window.failures + window.pending >= pendingLimit ? 1 : 0
    },
    /** An attempt begins: pending until `end`. */
    begin (key: string, now: number): Window {
      let window = live(key, now)
      if (!window) {
        // Re-inserted at each new window, so the first entry is always the oldest.
        windows.delete(key)
        if (windows.size >= maxEntries) windows.delete(windows.keys().next().value!)
        window = { failures: 0, pending: 0, endsAt: now + windowMs }
        windows.set(key, window)
      }
      window.pending++
      return window
    },
    end (window: Window, failed: boolean): void {
      window.pending--
      if (failed) window.failures++
    },
    forget (key: string): void {
      windows.delete(key)
    }
  }
}

/** The key an address is counted under: itself, or its /64 for IPv6 (one subscriber's usual share). */
export function addressKey (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (!isIPv6(address) || address.includes('.')) return address
  const [head = '', tail = ''] = address.split('::')
  const headGroups = head ? head.split(':') : []
  const tailGroups = address.includes('::') ? (tail ? tail.split(':') : []) : []
  const groups = [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
  return `${groups.slice(0, 4).map((group) => group.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`
}

export function createGuessingThrottle (now: () => number): GuessingThrottle {
  const { windowMs, failuresPerClientAddress, failuresPerAddress, failuresPerTrustedPair, pendingPerTrustedPair, trustMs, maxEntries, trustedAddressesPerClient } = GUESSING_LIMITS
  const byClientAddress = windowCounters(failuresPerClientAddress, failuresPerClientAddress, windowMs, maxEntries)
  const byAddress = windowCounters(failuresPerAddress, failuresPerAddress, windowMs, maxEntries)
  const byPair = windowCounters(failuresPerTrustedPair, pendingPerTrustedPair, windowMs, maxEntries)
  const trust = trustedAddresses(trustMs, trustedAddressesPerClient)

  return {
    admit (clientId, address) {
      const at = now()
      const where = addressKey(address)
      const pair = JSON.stringify([clientId, where])
      const trusted = trust.has(clientId, where, at)
      const counted = trusted
        ? [{ counters: byPair, key: pair }]
        : [{ counters: byClientAddress, key: pair }, { counters: byAddress, key: where }]
      const wait = Math.max(...counted.map(({ counters, key }) => counters.secondsBlocked(key, at)))
      if (wait > 0) throw Object.assign(new TooManyAttemptsError(`Too many failed client authentications for this client from this address, or from this address; retry in ${wait} s`), { retryAfterSeconds: wait })
      const begun = counted.map(({ counters, key }) => ({ counters, window: counters.begin(key, at) }))
      return {
        trusted,
        settle (outcome) {
          for (const { counters, window } of begun) counters.end(window, outcome === 'failed')
          if (outcome !== 'succeeded') return
          byPair.forget(pair)
          byClientAddress.forget(pair)
          trust.add(clientId, where, now())
        }
      }
    }
  }
}

/**
 * The addresses each client authenticated from, and until when they are trusted: a table per
 * client, each bounded on its own. Entries are made only after a secret was verified, so the
 * number of tables is bounded by the registered clients.
 */
function trustedAddresses (trustMs: number, perClient: number) {
  const byClient = new Map<string, Map<string, number>>()
  return {
    has (clientId: string, address: string, at: number): boolean {
      return (byClient.get(clientId)?.get(address) ?? 0) > at
    },
    add (clientId: string, address: string, at: number): void {
      let addresses = byClient.get(clientId)
      if (!addresses) byClient.set(clientId, addresses = new Map())
      // Re-inserted at each success, so the first entry is always the one trusted least recently.
      addresses.delete(address)
      if (addresses.size >= perClient) addresses.delete(addresses.keys().next().value!)
      addresses.set(address, at + trustMs)
    }
  }
}
