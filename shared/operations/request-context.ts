import type { Actor } from '../records/model.ts'

/** Who asks, when, and under which request id: everything an operation needs besides its input. */
export interface RequestContext {
  actor: Actor
  now: Date
  /** The server's id of the request (or of the import step): what history records. */
  requestId: string
  /** The id the caller gave it (X-Request-Id, a CloudEvent's id), at most 128 characters: kept beside, never instead. */
  clientRequestId?: string
}
