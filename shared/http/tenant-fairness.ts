import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { InvalidRequestError, TenantBusyError } from '../errors.ts'

export interface TenantFairnessOptions {
  /** The tenant a request is counted for; requests without one (health, broker deliveries) are not counted. */
  tenantOf (request: FastifyRequest): string | undefined
  /** Requests one tenant may have running in this instance at once. */
  inFlight: number
  /** Requests of one tenant that wait for one of its running ones to finish; past that, a 429. */
  queued: number
  /** How long a request waits for its turn before it is refused the same way (default QUEUE_WAIT_MS). */
  maxWaitMs?: number
}

/**
 * Longest wait for a turn: well below REQUEST_TIMEOUT_MS, which also runs while a waiting upload's
 * body is left unread, so a client that waited too long hears "busy, retry", not "you were slow".
 */
const QUEUE_WAIT_MS = 10_000

declare module 'fastify' {
  interface FastifyRequest {
    /** Gives back this request's place among its tenant's running requests (once; later calls do nothing). */
    tenantSlotDone: (() => void) | null
  }
}

interface TenantState {
  running: number
  waiting: Array<() => void>
}

/**
 * Per-tenant concurrency, per instance: a tenant runs at most `inFlight` requests at once, and up to
 * `queued` more wait for its own running ones, first come first served; past that the request is a
 * 429 at once. A tenant's burst therefore waits behind itself and never fills the instance (the event
 * loop, the store client's sockets) ahead of another tenant's requests, which find their own slots free.
 * Counted after the token check (the tenant is the verified token's) and before the body is read;
 * a place is given back when the answer is sent, or when a waiting client goes away.
 */
const tenantFairness: FastifyPluginAsync<TenantFairnessOptions> = async (app, options) => {
  for (const setting of ['inFlight', 'queued'] as const) {
    if (!Number.isInteger(options[setting]) || options[setting] < (setting === 'inFlight' ? 1 : 0)) throw new Error(`tenant fairness: ${setting} must be a ${setting === 'inFlight' ? 'positive' : 'non-negative'} integer`)
  }
  const tenants = new Map<string, TenantState>()
  app.decorateRequest('tenantSlotDone', null)

  const release = (tenant: string, state: TenantState) => () => {
    const next = state.waiting.shift()
    if (next) return next()
    state.running--
    if (state.running === 0) tenants.delete(tenant)
  }

  app.addHook('preParsing', async (request, _reply, payload) => {
    const tenant = options.tenantOf(request)
    if (tenant === undefined) return payload
    let state = tenants.get(tenant)
    if (!state) tenants.set(tenant, state = { running: 0, waiting: [] })
    if (state.running < options.inFlight) {
      state.running++
    } else if (state.waiting.length < options.queued) {
      await waitForTurn(request, state, options.maxWaitMs ?? QUEUE_WAIT_MS, () => new TenantBusyError(options.inFlight, options.queued))
    } else {
      throw new TenantBusyError(options.inFlight, options.queued)
    }
    request.tenantSlotDone = once(release(tenant, state))
    return payload
  })
  // Every answer, an error's too, passes onSend, also when its client has gone: the place is
  // held until the work behind it is done, so clients that leave cannot run more than their share.
  app.addHook('onSend', async (request, _reply, payload) => {
    request.tenantSlotDone?.()
    return payload
  })
  app.addHook('onResponse', async (request) => { request.tenantSlotDone?.() })
}

/**
 * Waits until a running request of the tenant hands its place over. A client that leaves first
 * gives up its turn; one that waited `maxWaitMs` is refused (`busy`).
 */
function waitForTurn (request: FastifyRequest, state: TenantState, maxWaitMs: number, busy: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = request.raw.socket
    const turn = () => {
      clearTimeout(timer)
      socket.off('close', leave)
      resolve()
    }
    const giveUp = (error: Error) => {
      const at = state.waiting.indexOf(turn)
      if (at === -1) return
      state.waiting.splice(at, 1)
      clearTimeout(timer)
      socket.off('close', leave)
      reject(error)
    }
    const leave = () => giveUp(new InvalidRequestError('The client closed the connection while its request waited for its turn'))
    const timer = setTimeout(() => giveUp(busy()), maxWaitMs)
    state.waiting.push(turn)
    socket.once('close', leave)
  })
}

function once (action: () => void): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    action()
  }
}

export default fp(tenantFairness, { name: 'security-records-tenant-fairness', fastify: '5.x', dependencies: ['security-records-problems'] })
