import fp from 'fastify-plugin'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { isProblemCode, problemTypes, type FieldError } from '../errors.ts'
import { toFieldErrors } from '../validation.ts'
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, type Problem } from './problem.ts'

/** Fastify's own errors (and the request limits') that are the client's fault, with the status and title they deserve. */
const frameworkErrors: Record<string, { status: number, title: string, slug: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, title: 'Request body too large', slug: 'body-too-large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, title: 'Unsupported media type', slug: 'unsupported-media-type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, title: 'Invalid request', slug: 'invalid-request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, title: 'Invalid request', slug: 'invalid-request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, title: 'Invalid JSON', slug: 'invalid-json' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, title: 'Unsupported media type', slug: 'unsupported-media-type' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, title: 'Unsupported media type', slug: 'unsupported-media-type' },
  FST_ERR_BAD_URL: { status: 400, title: 'Invalid request', slug: 'invalid-request' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, title: 'URI too long', slug: 'uri-too-long' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, title: 'Invalid request', slug: 'invalid-request' },
  FST_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests', slug: 'rate-limited' }
}

/** Seconds a client should wait before retrying a 503 or 429. */
const RETRY_AFTER_SECONDS = '1'

function problem (request: Pick<FastifyRequest, 'url' | 'id'>, status: number, title: string, slug: string, detail: string): Problem {
  return { type: `${PROBLEM_TYPE_BASE}${slug}`, title, status, detail, instance: request.url.split('?')[0] ?? '/', requestId: request.id }
}

/** The problem body for one of Fastify's own errors, for paths that bypass the error handler. */
export function frameworkProblem (request: Pick<FastifyRequest, 'url' | 'id'>, error: { code?: string, message: string }): Problem {
  const kind = (isProblemCode(error.code) ? problemTypes[error.code] : error.code && frameworkErrors[error.code]) || { status: 400, title: 'Invalid request', slug: 'invalid-request' }
  return problem(request, kind.status, kind.title, kind.slug, error.message)
}

/**
 * The one place errors become responses: RFC 9457 problem+json for every status. 5xx bodies
 * never carry the error's message; the cause is logged with the request id instead.
 */
const problemHandler: FastifyPluginAsync = async (app) => {
  app.setErrorHandler(async (error: FastifyError & { errors?: FieldError[], existingRecordId?: string, cause?: unknown }, request, reply) => {
    let body: Problem
    if (error.validation) {
      const errors = toFieldErrors(error.validation as never).map((fieldError) => ({ ...fieldError, in: error.validationContext as NonNullable<FieldError & { in: 'body' }>['in'] }))
      const where = error.validationContext === 'body' ? 'body' : error.validationContext ?? 'request'
      const detail = errors.length === 1 ? `Invalid ${where}: ${errors[0]!.path || '/'} ${errors[0]!.message}` : `Invalid ${where}: ${errors.length} problems`
      body = { ...problem(request, 400, 'Invalid request', 'invalid-request', detail), errors }
    } else if (isProblemCode(error.code)) {
      const kind = problemTypes[error.code]
      body = problem(request, kind.status, kind.title, kind.slug, error.message)
      if (error.errors) body.errors = error.errors
      if (error.existingRecordId) body.existingRecordId = error.existingRecordId
      decorateAuthChallenge(reply, error)
      if (kind.status === 503) request.log.warn({ err: error.cause ?? error }, 'store unavailable')
    } else if (error.code && frameworkErrors[error.code]) {
      const kind = frameworkErrors[error.code]!
      body = problem(request, kind.status, kind.title, kind.slug, error.message)
    } else if (error instanceof SyntaxError || (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)) {
      const status = error.statusCode ?? 400
      body = problem(request, status, status === 400 ? 'Invalid request' : 'Request refused', 'invalid-request', error.message)
    } else {
      request.log.error({ err: error }, 'unhandled error')
      body = problem(request, 500, 'Internal server error', 'internal', `Something went wrong on our side; quote request id ${request.id} when reporting it`)
    }
    if (body.status === 503 || body.status === 429) reply.header('retry-after', reply.getHeader('retry-after') ?? RETRY_AFTER_SECONDS)
    // A problem describes one request at one moment: no cache may keep or replay it.
    return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store').send(body)
  })

  app.setNotFoundHandler(async (request, reply) => {
    return reply.code(404).type(PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store')
      .send(problem(request, 404, 'Not found', 'not-found', `No route for ${request.method} ${request.url.split('?')[0]}`))
  })
}

/** RFC 6750 §3: 401 and 403 carry a Bearer challenge naming the error. */
function decorateAuthChallenge (reply: FastifyReply, error: FastifyError) {
  // Header values must be visible ASCII; quotes and backslashes would break the challenge syntax.
  const quoted = (value: string) => value.replace(/[^\x20-\x7e]|["\\]/g, '')
  if (error.code === 'SR_INVALID_TOKEN') {
    reply.header('www-authenticate', `Bearer realm="security-records", error="invalid_token", error_description="${quoted(error.message)}"`)
  } else if (error.code === 'SR_INSUFFICIENT_SCOPE') {
    const scope = /\S+$/.exec(error.message)?.[0] ?? ''
    reply.header('www-authenticate', `Bearer realm="security-records", error="insufficient_scope", scope="${quoted(scope)}"`)
  }
}

export default fp(problemHandler, { name: 'security-records-problems', fastify: '5.x' })
