import createError from '@fastify/error'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { StoreUnavailableError } from '../../shared/errors.ts'

/**
 * The OAuth errors this server answers with, in one table (RFC 6749 §5.2, RFC 8707 §2,
 * RFC 6749 §4.1.2.1). The `error` value a client sees is the code without `OAUTH_`, lower-cased.
 */
export const InvalidRequestError = createError<'OAUTH_INVALID_REQUEST', 400, [string]>('OAUTH_INVALID_REQUEST', '%s', 400)
export const InvalidClientError = createError<'OAUTH_INVALID_CLIENT', 401, [string]>('OAUTH_INVALID_CLIENT', '%s', 401)
export const UnsupportedGrantTypeError = createError<'OAUTH_UNSUPPORTED_GRANT_TYPE', 400, [string]>('OAUTH_UNSUPPORTED_GRANT_TYPE', 'The grant type %s is not supported; use client_credentials or authorization_code', 400)
export const InvalidGrantError = createError<'OAUTH_INVALID_GRANT', 400, [string]>('OAUTH_INVALID_GRANT', '%s', 400)
export const UnauthorizedClientError = createError<'OAUTH_UNAUTHORIZED_CLIENT', 400, [string]>('OAUTH_UNAUTHORIZED_CLIENT', '%s', 400)
export const InvalidScopeError = createError<'OAUTH_INVALID_SCOPE', 400, [string]>('OAUTH_INVALID_SCOPE', '%s', 400)
export const InvalidTargetError = createError<'OAUTH_INVALID_TARGET', 400, [string]>('OAUTH_INVALID_TARGET', '%s', 400)
/** Throttled (RFC 6585 429): RFC 6749 has no code of its own for it; `temporarily_unavailable` is the nearest registered one. */
export const TooManyAttemptsError = createError<'OAUTH_TEMPORARILY_UNAVAILABLE', 429, [string]>('OAUTH_TEMPORARILY_UNAVAILABLE', '%s', 429)
/** Too many secret checks already waiting: overloaded, not this client's fault. */
export const ServerBusyError = createError<'OAUTH_TEMPORARILY_UNAVAILABLE', 503, [string]>('OAUTH_TEMPORARILY_UNAVAILABLE', '%s', 503)

/** RFC 6749 §5.2 error response. */
export const OAuthErrorBody = Type.Object({
  error: Type.String({ description: 'RFC 6749 §5.2 error code.' }),
  error_description: Type.Optional(Type.String({ description: 'What went wrong, for the developer.' }))
}, { description: 'OAuth 2.0 error response (RFC 6749 §5.2).' })

/** Response schemas for the error statuses an OAuth endpoint can answer. */
export function oauthErrorResponses () {
  const response = (description: string) => ({ description, content: { 'application/json': { schema: OAuthErrorBody } } })
  return {
    400: response('invalid_request, unsupported_grant_type, invalid_grant, unauthorized_client, invalid_scope or invalid_target.'),
    401: response('invalid_client: unknown client, wrong secret or no client authentication.'),
    413: response('invalid_request: the body is larger than the limit.'),
    429: response('temporarily_unavailable: too many failed client authentications for this client or from this address; see Retry-After.'),
    500: response('server_error.'),
    503: response('temporarily_unavailable: the store cannot answer, or too many requests are waiting; see Retry-After.')
  }
}

/** Fastify's body errors, as the OAuth error a client can act on. */
const frameworkErrors: Record<string, { status: number, description: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, description: 'The request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 400, description: 'Send the parameters as application/x-www-form-urlencoded' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 400, description: 'Send the parameters as application/x-www-form-urlencoded' },
  FST_ERR_CTP_INVALID_TYPE: { status: 400, description: 'Send the parameters as application/x-www-form-urlencoded' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, description: 'The Content-Length does not match the body' }
}

/** The realm of the Basic challenge every invalid_client answer carries. */
export const BASIC_CHALLENGE = 'Basic realm="security-records"'

/**
 * Errors on the OAuth endpoints as RFC 6749 JSON `{ error, error_description }`, never problem+json:
 * OAuth client libraries parse exactly this. Register inside the plugin that holds those routes.
 */
const oauthErrorHandlerPlugin: FastifyPluginAsync = async (app) => {
  app.setErrorHandler(async (error: FastifyError & { cause?: unknown, retryAfterSeconds?: number }, request, reply) => {
    let status: number
    let body: { error: string, error_description: string }
    if (error.code?.startsWith('OAUTH_') && error.statusCode) {
      status = error.statusCode
      body = { error: error.code.slice('OAUTH_'.length).toLowerCase(), error_description: error.message }
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
    } else if (error.validation) {
      status = 400
      body = { error: 'invalid_request', error_description: describeInvalidParameters(error.validation) }
    } else if (error.code && frameworkErrors[error.code]) {
      const known = frameworkErrors[error.code]!
      status = known.status
      body = { error: 'invalid_request', error_description: known.description }
    } else if (error instanceof StoreUnavailableError) {
      request.log.warn({ err: error.cause ?? error }, 'store unavailable')
      status = 503
      body = { error: 'temporarily_unavailable', error_description: 'The authorization server cannot answer right now; retry later' }
      reply.header('retry-after', '1')
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      status = 400
      body = { error: 'invalid_request', error_description: 'The request is malformed' }
    } else {
      request.log.error({ err: error }, 'unhandled error')
      status = 500
      body = { error: 'server_error', error_description: `Something went wrong on our side; quote request id ${request.id} when reporting it` }
    }
    // RFC 9110 §15.5.2: a 401 names the scheme that would work.
    if (status === 401) reply.header('www-authenticate', BASIC_CHALLENGE)
    return noStore(reply).code(status).type('application/json').send(body)
  })
}

export const oauthErrorHandler = fp(oauthErrorHandlerPlugin, { name: 'mock-auth-oauth-errors', fastify: '5.x' })

/** RFC 6749 §5.1: responses carrying or about credentials must not be cached. */
export function noStore (reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

/** Names the parameter that is missing or repeated, as RFC 6749 §3.2 asks of a request. */
function describeInvalidParameters (errors: ReadonlyArray<{ keyword: string, instancePath: string, params: Record<string, unknown> }>): string {
  const first = errors[0]
  if (!first) return 'The request is malformed'
  const name = first.instancePath.replace(/^\//, '').split('/')[0]
  if (first.keyword === 'required') return `The ${String(first.params.missingProperty)} parameter is missing`
  if (first.keyword === 'type' && name) return `The ${name} parameter must be sent once, as form-urlencoded text`
  if (name) return `The ${name} parameter is invalid`
  return 'Send the parameters as application/x-www-form-urlencoded'
}
