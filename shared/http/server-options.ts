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
