import createError from '@fastify/error'

/** One entry of a validation problem: a JSON Pointer into the request and what is wrong there. */
export interface FieldError {
  path: string
  message: string
}

interface ProblemType {
  status: number
  /** Short summary of the kind of problem (RFC 9457 `title`). */
  title: string
  /** Last segment of the problem's `type` URI. */
  slug: string
  /** When a client gets it; the OpenAPI document's error responses are made of these. */
  description: string
}

/**
 * Every problem the API, the gateway and mock-auth answer with, in one table: the error classes,
 * the mapping of the web framework's own errors, the OpenAPI response descriptions and every
 * problem+json body derive from it (RFC 9457).
 */
export const problemTypes = {
  SR_INVALID_REQUEST: { status: 400, title: 'Invalid request', slug: 'invalid-request', description: 'The request is invalid: an unknown, read-only or malformed field, or a bad query or header.' },
  SR_INVALID_JSON: { status: 400, title: 'Invalid JSON', slug: 'invalid-json', description: 'The body is not strict JSON (RFC 8259 as I-JSON, RFC 7493): malformed or empty, a member name repeated in one object, a NUL character or a lone surrogate, or a prototype property.' },
  SR_INVALID_CURSOR: { status: 400, title: 'Invalid cursor', slug: 'invalid-cursor', description: 'The cursor was altered or belongs to another query.' },
  SR_INVALID_ENCODING: { status: 400, title: 'Invalid encoding', slug: 'invalid-encoding', description: 'The path, query or body is not valid UTF-8 or percent-encoding.' },
  SR_INVALID_TOKEN: { status: 401, title: 'Invalid or missing access token', slug: 'invalid-token', description: 'No access token, or one that is invalid, expired or revoked.' },
  SR_INSUFFICIENT_SCOPE: { status: 403, title: 'Insufficient scope', slug: 'insufficient-scope', description: 'The access token lacks the scope this operation needs.' },
  SR_TENANT_MISMATCH: { status: 403, title: 'Tenant mismatch', slug: 'tenant-mismatch', description: 'A finding event (`POST /events/findings`) names another tenant than the access token; findings are written to the token\'s tenant only.' },
  SR_NOT_FOUND: { status: 404, title: 'Not found', slug: 'not-found', description: 'No record (or import) with this id in your tenant (or no such route).' },
  SR_NO_VEX_STATEMENTS: { status: 404, title: 'No VEX statements', slug: 'no-vex-statements', description: 'An OpenVEX export (`GET /v1/records`, `Accept: application/openvex+json`) found no decision to state under the filter (from `cursor` on): an OpenVEX document needs at least one statement, so none is written.' },
  SR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed', slug: 'method-not-allowed', description: 'The path exists, but not with this method; `Allow` lists the methods it has.' },
  SR_NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable', slug: 'not-acceptable', description: 'None of the media types in `Accept` is one this operation answers with (`detail` lists them).' },
  SR_REQUEST_TIMEOUT: { status: 408, title: 'Request timeout', slug: 'request-timeout', description: 'The request was not received completely in time.' },
  SR_ILLEGAL_TRANSITION: { status: 409, title: 'Illegal status transition', slug: 'illegal-transition', description: 'The status change is not allowed by the workflow.' },
  SR_DUPLICATE_FINGERPRINT: { status: 409, title: 'Duplicate fingerprint', slug: 'duplicate-fingerprint', description: 'Another record of the tenant has this fingerprint (`existingRecordId` names it).' },
  SR_INGEST_CONFLICT: { status: 409, title: 'Finding changed concurrently', slug: 'ingest-conflict', description: 'The record of the finding kept changing while the report was applied.' },
  SR_IDEMPOTENT_RECORD_DELETED: { status: 409, title: 'The record this Idempotency-Key created was deleted', slug: 'idempotent-record-deleted', description: 'A retry with an Idempotency-Key whose record was deleted since: it is not created again (`detail` names it).' },
  SR_IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'Request with this Idempotency-Key in progress', slug: 'idempotency-in-progress', description: 'A request with this Idempotency-Key is still being processed.' },
  SR_PRECONDITION_FAILED: { status: 412, title: 'Precondition failed', slug: 'precondition-failed', description: 'If-Match does not match the record\'s current ETag.' },
  SR_BODY_TOO_LARGE: { status: 413, title: 'Request body too large', slug: 'body-too-large', description: 'The request body is larger than the limit.' },
  SR_ITEM_TOO_LARGE: { status: 413, title: 'Too large to store', slug: 'item-too-large', description: 'What the request would store (a record with the change it carries before and after, its history entry, an import\'s state) is over the store\'s item limit (DynamoDB: 400 KB); `detail` names the item, its size and the limit.' },
  SR_URI_TOO_LONG: { status: 414, title: 'URI too long', slug: 'uri-too-long', description: 'The request target or a path segment is too long.' },
  SR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type', slug: 'unsupported-media-type', description: 'The body\'s content type (or charset) is not accepted.' },
  SR_INVALID_REPORT: { status: 422, title: 'Not a report of its format', slug: 'invalid-report', description: 'The report is JSON but not a SARIF 2.1.0 log, CycloneDX BOM or VEX document this API can import (`errors` names what is wrong).' },
  SR_EXPECTATION_FAILED: { status: 417, title: 'Expectation failed', slug: 'expectation-failed', description: 'The request has an `Expect` header other than `100-continue`.' },
  SR_IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key reused with a different request', slug: 'idempotency-key-reused', description: 'The Idempotency-Key was used before with a different body.' },
  SR_PRECONDITION_REQUIRED: { status: 428, title: 'Precondition required', slug: 'precondition-required', description: 'If-Match is required.' },
  SR_RATE_LIMITED: { status: 429, title: 'Too many requests', slug: 'rate-limited', description: 'Rate limited; retry after the seconds in Retry-After.' },
  SR_HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large', slug: 'headers-too-large', description: 'The request line and headers are larger than accepted.' },
  SR_INTERNAL: { status: 500, title: 'Internal server error', slug: 'internal', description: 'Unexpected error; the details are in the logs under the request id.' },
  SR_BAD_GATEWAY: { status: 502, title: 'Bad gateway', slug: 'bad-gateway', description: 'The function serving the route did not answer.' },
  SR_STORE_UNAVAILABLE: { status: 503, title: 'Store unavailable', slug: 'store-unavailable', description: 'The store is unavailable; retry after the seconds in Retry-After.' },
  SR_BROKER_UNAVAILABLE: { status: 503, title: 'Broker unavailable', slug: 'broker-unavailable', description: 'The event broker did not take the finding in time; nothing was published. Retry after the seconds in Retry-After.' },
  SR_METRICS_CONTENDED: { status: 503, title: 'Counters busy', slug: 'metrics-contended', description: 'Another delivery of the same record is changing its counters; redeliver after the seconds in Retry-After.' },
  SR_METRICS_PAUSED: { status: 503, title: 'Counting paused', slug: 'metrics-paused', description: 'Deliveries are paused while the counters are rewritten (rebuild-metrics with METRICS_RESET); redeliver after the seconds in Retry-After.' },
  SR_OVERLOADED: { status: 503, title: 'Too busy', slug: 'overloaded', description: 'The gateway has as many requests waiting for this function, or connections from your address, as it takes (or the import function as many reports at once); retry after the seconds in Retry-After.' }
} as const satisfies Record<string, ProblemType>

export type ProblemCode = keyof typeof problemTypes

/** The web framework's own errors that are the client's fault, as the problem they are. */
export const frameworkProblemCodes: Readonly<Record<string, ProblemCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'SR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SR_INVALID_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SR_INVALID_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SR_INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'SR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'SR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'SR_INVALID_ENCODING',
  FST_ERR_MAX_PARAM_LENGTH: 'SR_URI_TOO_LONG',
  FST_ERR_ASYNC_CONSTRAINT: 'SR_INVALID_REQUEST',
  HPE_HEADER_OVERFLOW: 'SR_HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'SR_REQUEST_TIMEOUT'
}

/** The problem code of any error: ours by code, the framework's by its mapping, a 4xx as an invalid request, else internal. */
export function problemCodeOf (error: Error & { code?: string, statusCode?: number }): ProblemCode {
  if (error.code !== undefined && Object.hasOwn(problemTypes, error.code)) return error.code as ProblemCode
  const mapped = error.code === undefined ? undefined : frameworkProblemCodes[error.code]
  if (mapped) return mapped
  const clientFault = error instanceof SyntaxError || (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
  return clientFault ? 'SR_INVALID_REQUEST' : 'SR_INTERNAL'
}

/** An error class for one problem type; the status comes from the table. */
function problemError<Args extends unknown[] = [string]> (code: ProblemCode, message = '%s') {
  return createError<ProblemCode, number, Args>(code, message, problemTypes[code].status)
}

export const InvalidRequestError = problemError('SR_INVALID_REQUEST')
export const InvalidJsonError = problemError('SR_INVALID_JSON')
export const InvalidCursorError = problemError('SR_INVALID_CURSOR')
export const InvalidEncodingError = problemError('SR_INVALID_ENCODING')
export const InvalidTokenError = problemError('SR_INVALID_TOKEN')
export const InsufficientScopeError = problemError('SR_INSUFFICIENT_SCOPE', 'This operation needs the scope %s')
export const TenantMismatchError = problemError('SR_TENANT_MISMATCH')
export const NotFoundError = problemError('SR_NOT_FOUND')
export const MethodNotAllowedError = problemError<[string, string, string]>('SR_METHOD_NOT_ALLOWED', '%s is not a method of %s; it has %s')
export const IllegalTransitionError = problemError<[string, string, string]>('SR_ILLEGAL_TRANSITION', 'A record cannot move from status %s to %s; allowed: %s')
export const DuplicateFingerprintError = problemError('SR_DUPLICATE_FINGERPRINT', 'Another record of this tenant has this fingerprint: %s')
export const IdempotentRecordDeletedError = problemError('SR_IDEMPOTENT_RECORD_DELETED', 'The record %s that this Idempotency-Key created was deleted since; it is not created again (use a new key to create another)')
export const IdempotencyInProgressError = problemError<[]>('SR_IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still being processed; retry later')
export const IngestConflictError = problemError<[]>('SR_INGEST_CONFLICT', 'The record of this fingerprint kept changing while the report was applied; redeliver later')
export const UnsupportedMediaTypeError = problemError('SR_UNSUPPORTED_MEDIA_TYPE')
export const NotAcceptableError = problemError('SR_NOT_ACCEPTABLE')
export const NoVexStatementsError = problemError('SR_NO_VEX_STATEMENTS')
export const IdempotencyKeyReusedError = problemError<[]>('SR_IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request body')
export const BodyTooLargeError = problemError('SR_BODY_TOO_LARGE')
export const InvalidReportError = problemError('SR_INVALID_REPORT')
export const ItemTooLargeError = problemError('SR_ITEM_TOO_LARGE')
export const PreconditionRequiredError = problemError('SR_PRECONDITION_REQUIRED')
export const UriTooLongError = problemError<[number]>('SR_URI_TOO_LONG', 'The request target is longer than %d characters')
export const RateLimitedError = problemError('SR_RATE_LIMITED', 'Too many requests from this client; retry in %s')
export const OverloadedError = problemError('SR_OVERLOADED')
export const TenantBusyError = problemError<[number, number]>('SR_RATE_LIMITED', 'Your tenant has %d requests running at this instance and %d waiting, as many as it takes; retry after the seconds in Retry-After')
export const StoreUnavailableError = problemError<[]>('SR_STORE_UNAVAILABLE', 'The record store is unavailable; retry later')
export const MetricsContendedError = problemError<[]>('SR_METRICS_CONTENDED', 'Another delivery of this record is changing its counters; redeliver later')
export const MetricsPausedError = problemError<[]>('SR_METRICS_PAUSED', 'Deliveries are paused while the counters are rewritten; redeliver later')
export const BrokerUnavailableError = problemError<[]>('SR_BROKER_UNAVAILABLE', 'The event broker did not take the finding in time; retry later')

const PreconditionFailed = problemError('SR_PRECONDITION_FAILED', 'If-Match does not match the current version of the record (current ETag %s)')

/** A 412 that carries the record's current ETag: the answer sends it as its ETag header. */
export class PreconditionFailedError extends PreconditionFailed {
  readonly etag: string
  constructor (etag: string) {
    super(etag)
    this.etag = etag
  }
}

/** A 400 whose `errors` array names each offending field. */
export function invalidFields (errors: FieldError[]): Error & { statusCode: number, errors: FieldError[] } {
  const detail = errors.length === 1 ? `${errors[0]!.path || '/'}: ${errors[0]!.message}` : `${errors.length} fields are invalid`
  return Object.assign(new InvalidRequestError(detail), { errors })
}

/** A 422 for a report that is not a SARIF 2.1.0 log, naming where. */
export function invalidReport (errors: FieldError[]): Error & { statusCode: number, errors: FieldError[] } {
  const detail = errors.length === 1 ? `${errors[0]!.path || '/'}: ${errors[0]!.message}` : `${errors.length} problems in the report`
  return Object.assign(new InvalidReportError(detail), { errors })
}

/** A 403 that names the scope the operation needs (its Bearer challenge carries it). */
export function insufficientScope (scope: string): Error & { scope: string } {
  return Object.assign(new InsufficientScopeError(scope), { scope })
}

/** A 409 that also names the record already holding the fingerprint. */
export function duplicateFingerprint (existingRecordId: string): Error & { existingRecordId: string } {
  return Object.assign(new DuplicateFingerprintError(existingRecordId), { existingRecordId })
}

/** A 503 carrying the delivery's failure as its cause (logged, never sent). */
export function brokerUnavailable (cause: unknown): Error {
  const error = new BrokerUnavailableError()
  ;(error as Error & { cause: unknown }).cause = cause
  return error
}

/** A 503 carrying the SDK error as its cause (logged, never sent). */
export function storeUnavailable (cause: unknown): Error {
  const error = new StoreUnavailableError()
  ;(error as Error & { cause: unknown }).cause = cause
  return error
}
