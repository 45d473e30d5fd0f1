import { HTTP, type CloudEvent } from 'cloudevents'
import { invalidFields } from '../errors.ts'

/** One CloudEvent from a request, binary or structured mode, or a 400 naming what is wrong. */
export function cloudEventOf (request: { headers: Record<string, string | string[] | undefined>, body: unknown }): CloudEvent<unknown> {
  let event: CloudEvent<unknown>
  try {
    event = HTTP.toEvent({ headers: request.headers, body: request.body }) as CloudEvent<unknown>
  } catch (error) {
    throw invalidFields([{ path: '', message: `not a valid CloudEvent: ${(error as Error).message.slice(0, 200)}` }])
  }
  if (Array.isArray(event)) throw invalidFields([{ path: '', message: 'batched CloudEvents are not accepted; send one event per request' }])
  return event
}
