import { randomUUID } from 'node:crypto'
import type { FastifyServerOptions } from 'fastify'

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/

/**
 * The Fastify options every function's app starts from: bounded request time, 503 while
 * draining, poisoned JSON refused, and the gateway's request id accepted so one id follows a
 * request through every hop (echo it with `x-request-id`).
 */
export const functionServerOptions = {
  requestTimeout: 30_000,
  return503OnClosing: true,
  onProtoPoisoning: 'error',
  onConstructorPoisoning: 'error',
  requestIdHeader: false,
  genReqId: (request) => {
    const incoming = request.headers['x-request-id']
    return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
  }
} satisfies FastifyServerOptions

const SECRET_QUERY_PARAMETERS = /([?&](?:access_token|token|client_secret|refresh_token|id_token|code|password)=)[^&#]*/gi

/** A URL as logs may show it: credentials a confused client put in the query string are blanked. */
export function loggableUrl (url: string): string {
  return url.replace(SECRET_QUERY_PARAMETERS, '$1[redacted]')
}

/** Pino `req` serializer for every function: method and loggable URL, never headers or body. */
export function requestLogSerializer (request: { method: string, url: string }): { method: string, url: string } {
  return { method: request.method, url: loggableUrl(request.url) }
}
