import createError from '@fastify/error'

/** One entry of a validation problem: a JSON Pointer into the request and what is wrong there. */
export interface FieldError {
  path: string
  message: string
}

/**
 * Every domain error of the API, in one table: code, message template, status, and the
 * problem title and type slug the error handler renders (RFC 9457).
 */
export const problemTypes = {
  SR_INVALID_REQUEST: { status: 400, title: 'Invalid request', slug: 'invalid-request' },
  SR_INVALID_CURSOR: { status: 400, title: 'Invalid cursor', slug: 'invalid-cursor' },
  SR_INVALID_ENCODING: { status: 400, title: 'Invalid encoding', slug: 'invalid-encoding' },
  SR_INVALID_TOKEN: { status: 401, title: 'Invalid or missing access token', slug: 'invalid-token' },
  SR_INSUFFICIENT_SCOPE: { status: 403, title: 'Insufficient scope', slug: 'insufficient-scope' },
  SR_NOT_FOUND: { status: 404, title: 'Not found', slug: 'not-found' },
  SR_ILLEGAL_TRANSITION: { status: 409, title: 'Illegal status transition', slug: 'illegal-transition' },
  SR_DUPLICATE_FINGERPRINT: { status: 409, title: 'Duplicate fingerprint', slug: 'duplicate-fingerprint' },
  SR_INGEST_CONFLICT: { status: 409, title: 'Finding changed concurrently', slug: 'ingest-conflict' },
  SR_IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'Request with this Idempotency-Key in progress', slug: 'idempotency-in-progress' },
  SR_URI_TOO_LONG: { status: 414, title: 'URI too long', slug: 'uri-too-long' },
  SR_PRECONDITION_FAILED: { status: 412, title: 'Precondition failed', slug: 'precondition-failed' },
  SR_IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key reused with a different request', slug: 'idempotency-key-reused' },
  SR_PRECONDITION_REQUIRED: { status: 428, title: 'Precondition required', slug: 'precondition-required' },
  SR_RATE_LIMITED: { status: 429, title: 'Too many requests', slug: 'rate-limited' },
  SR_STORE_UNAVAILABLE: { status: 503, title: 'Store unavailable', slug: 'store-unavailable' }
} as const

export type ProblemCode = keyof typeof problemTypes

export const InvalidRequestError = createError<'SR_INVALID_REQUEST', 400, [string]>('SR_INVALID_REQUEST', '%s', 400)
export const InvalidCursorError = createError<'SR_INVALID_CURSOR', 400, [string]>('SR_INVALID_CURSOR', '%s', 400)
export const InvalidTokenError = createError<'SR_INVALID_TOKEN', 401, [string]>('SR_INVALID_TOKEN', '%s', 401)
export const InsufficientScopeError = createError<'SR_INSUFFICIENT_SCOPE', 403, [string]>('SR_INSUFFICIENT_SCOPE', 'This operation needs the scope %s', 403)
export const NotFoundError = createError<'SR_NOT_FOUND', 404, [string]>('SR_NOT_FOUND', '%s', 404)
export const IllegalTransitionError = createError<'SR_ILLEGAL_TRANSITION', 409, [string, string, string]>('SR_ILLEGAL_TRANSITION', 'A record cannot move from status %s to %s; allowed: %s', 409)
export const DuplicateFingerprintError = createError<'SR_DUPLICATE_FINGERPRINT', 409, [string]>('SR_DUPLICATE_FINGERPRINT', 'Another record of this tenant has this fingerprint: %s', 409)
export const IdempotencyInProgressError = createError<'SR_IDEMPOTENCY_IN_PROGRESS', 409, []>('SR_IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still being processed; retry later', 409)
export const IngestConflictError = createError<'SR_INGEST_CONFLICT', 409, []>('SR_INGEST_CONFLICT', 'The record of this fingerprint kept changing while the report was applied; redeliver later', 409)
export const PreconditionFailedError = createError<'SR_PRECONDITION_FAILED', 412, [string]>('SR_PRECONDITION_FAILED', 'If-Match does not match the current version of the record (current ETag %s)', 412)
export const IdempotencyKeyReusedError = createError<'SR_IDEMPOTENCY_KEY_REUSED', 422, []>('SR_IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request body', 422)
export const PreconditionRequiredError = createError<'SR_PRECONDITION_REQUIRED', 428, [string]>('SR_PRECONDITION_REQUIRED', '%s', 428)
export const InvalidEncodingError = createError<'SR_INVALID_ENCODING', 400, [string]>('SR_INVALID_ENCODING', '%s', 400)
export const UriTooLongError = createError<'SR_URI_TOO_LONG', 414, [number]>('SR_URI_TOO_LONG', 'The request target is longer than %d characters', 414)
export const RateLimitedError = createError<'SR_RATE_LIMITED', 429, [string]>('SR_RATE_LIMITED', 'Too many requests from this client; retry in %s', 429)
export const StoreUnavailableError = createError<'SR_STORE_UNAVAILABLE', 503, []>('SR_STORE_UNAVAILABLE', 'The record store is unavailable; retry later', 503)

/** A 400 whose `errors` array names each offending field. */
export function invalidFields (errors: FieldError[]): Error & { statusCode: 400, errors: FieldError[] } {
  const detail = errors.length === 1 ? `${errors[0]!.path || '/'}: ${errors[0]!.message}` : `${errors.length} fields are invalid`
  return Object.assign(new InvalidRequestError(detail), { errors })
}

/** A 409 that also names the record already holding the fingerprint. */
export function duplicateFingerprint (existingRecordId: string): Error & { existingRecordId: string } {
  return Object.assign(new DuplicateFingerprintError(existingRecordId), { existingRecordId })
}

/** A 503 carrying the SDK error as its cause (logged, never sent). */
export function storeUnavailable (cause: unknown): Error {
  const error = new StoreUnavailableError()
  ;(error as Error & { cause: unknown }).cause = cause
  return error
}

export function isProblemCode (code: unknown): code is ProblemCode {
  return typeof code === 'string' && Object.hasOwn(problemTypes, code)
}
