import type { Actor } from '../records/model.ts'

/** Who asks, when, and under which request id: everything an operation needs besides its input. */
export interface RequestContext {
  actor: Actor
  now: Date
  requestId: string
}
