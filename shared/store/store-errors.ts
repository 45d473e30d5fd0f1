import { storeUnavailable } from '../errors.ts'
import { itemTooLarge } from './item-size.ts'

export function isConditionFailed (error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException'
}

/** Errors of the store that say "not now" rather than "your request is wrong". */
const UNAVAILABLE = new Set([
  'ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded',
  'InternalServerError', 'ServiceUnavailable', 'ResourceNotFoundException', 'TimeoutError',
  'RequestTimeout', 'RequestTimeoutException', 'UnrecognizedClientException'
])

/**
 * Runs one store call and turns "the store cannot answer" into a 503 (the SDK error kept as
 * cause, never sent). Conditional-check failures pass through for the caller to name.
 */
export async function storeCall<T> (operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (isConditionFailed(error)) throw error
    if (isUnavailable(error)) throw storeUnavailable(error)
    // A size the guard in client.ts did not foresee (an update that grew an item): the request's fault, named.
    if ((error as Error).name === 'ValidationException' && /item size/i.test((error as Error).message)) throw Object.assign(itemTooLarge('An item this request writes'), { cause: error })
    throw error
  }
}

/**
 * Runs a conditional write whose failed condition means there is nothing left to do (another
 * writer already did it, or it no longer applies): only that failure is swallowed.
 */
export async function unlessConditionFails (operation: () => Promise<unknown>): Promise<void> {
  await writesUnlessConditionFails(operation)
}

/** Runs a conditional write: true when it was written, false when its condition failed. */
export async function writesUnlessConditionFails (operation: () => Promise<unknown>): Promise<boolean> {
  try {
    await storeCall(operation)
    return true
  } catch (error) {
    if (isConditionFailed(error)) return false
    throw error
  }
}

function isUnavailable (error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { name, code, $metadata } = error as { name?: string, code?: string, $metadata?: { httpStatusCode?: number } }
  if (name && UNAVAILABLE.has(name)) return true
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true
  if ($metadata === undefined) return false
  // An SDK error without an HTTP status never reached the store: a transport failure.
  const status = $metadata.httpStatusCode
  return status === undefined || status >= 500
}
