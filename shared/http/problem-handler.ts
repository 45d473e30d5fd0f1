import fp from 'fastify-plugin'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { InsufficientScopeError, InvalidTokenError, PreconditionFailedError, problemCodeOf, type FieldError } from '../errors.ts'
import { toFieldErrors } from '../validation.ts'
import { PROBLEM_CONTENT_TYPE, problemBody, type Problem } from './problem.ts'

/** Seconds a client should wait before retrying a 503 or 429. */
const RETRY_AFTER_SECONDS = '1'

/** The problem for any error: validation errors name each field, 5xx bodies carry no internals. */
export function problemFor (request: Pick<FastifyRequest, 'url' | 'id'>, error: FastifyError & { errors?: FieldError[], existingRecordId?: string }, readOnlyFields?: ReadonlySet<string>): Problem {
  if (error.validation) {
    const errors = toFieldErrors(error.validation as never, readOnlyFields).map((fieldError) => ({ ...fieldError, in: error.validationContext as NonNullable<FieldError & { in: 'body' }>['in'] }))
    const where = error.validationContext ?? 'request'
    const detail = errors.length === 1 ? `Invalid ${where}: ${errors[0]!.path || '/'} ${errors[0]!.message}` : `Invalid ${where}: ${errors.length} problems`
    return { ...problemBody(request, 'SR_INVALID_REQUEST', detail), errors }
  }
  const code = problemCodeOf(error)
  if (code === 'SR_INTERNAL') return problemBody(request, code, `Something went wrong on our side; quote request id ${request.id} when reporting it`)
  const body = problemBody(request, code, error.message)
  if (error.errors) body.errors = error.errors
  if (error.existingRecordId) body.existingRecordId = error.existingRecordId
  return body
}

/** Sends a problem: no cache may keep or replay it (it describes one request at one moment). */
export function sendProblem (reply: FastifyReply, body: Problem) {
  if (body.status === 503 || body.status === 429) reply.header('retry-after', reply.getHeader('retry-after') ?? RETRY_AFTER_SECONDS)
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store').send(body)
}

/**
 * The one place errors become responses: RFC 9457 problem+json for every status. 5xx bodies
 * never carry the error's message; the cause is logged with the request id instead.
 */
export interface ProblemHandlerOptions {
  /** Top-level body fields the server sets: sending one is named as such (not as an unknown field). */
  readOnlyFields?: readonly string[]
}

const problemHandler: FastifyPluginAsync<ProblemHandlerOptions> = async (app, options) => {
  const readOnlyFields = new Set(options.readOnlyFields)
  app.setErrorHandler(async (error: FastifyError & { errors?: FieldError[], existingRecordId?: string, scope?: string, cause?: unknown }, request, reply) => {
    const body = problemFor(request, error, readOnlyFields)
    if (body.status >= 500 && body.status !== 503) request.log.error({ err: error }, 'unhandled error')
    if (body.status === 503) request.log.warn({ err: error.cause ?? error }, body.title.toLowerCase())
    decorateAuthChallenge(reply, error)
    // The writer learns which version it lost to without another read.
    if (error instanceof PreconditionFailedError) reply.header('etag', error.etag)
    return sendProblem(reply, body)
  })

  app.setNotFoundHandler(async (request, reply) => {
    return sendProblem(reply, problemBody(request, 'SR_NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`))
  })
}

/** RFC 6750 §3: 401 and 403 carry a Bearer challenge naming the error. */
function decorateAuthChallenge (reply: FastifyReply, error: Error & { scope?: string }) {
  // Header values must be visible ASCII; quotes and backslashes would break the challenge syntax.
  const quoted = (value: string) => value.replace(/[^\x20-\x7e]|["\\]/g, '')
  if (error instanceof InvalidTokenError) {
    reply.header('www-authenticate', `Bearer realm="security-records", error="invalid_token", error_description="${quoted(error.message)}"`)
  } else if (error instanceof InsufficientScopeError) {
    const { scope } = error as Error & { scope?: string }
    reply.header('www-authenticate', `Bearer realm="security-records", error="insufficient_scope", scope="${quoted(scope ?? '')}"`)
  }
}

export default fp(problemHandler, { name: 'security-records-problems', fastify: '5.x' })
