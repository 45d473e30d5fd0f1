import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { Transform, type Readable } from 'node:stream'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { frameworkProblemCodes, InvalidEncodingError, UnsupportedMediaTypeError, UriTooLongError } from '../errors.ts'
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.ts'
import { securityHeaders } from './security-headers.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Content codings (RFC 9110 §8.4) the route decodes itself; a coded body elsewhere is a 415. */
    contentEncodings?: readonly string[]
  }
}

// Not `import … from 'node:http'`: an ESM import of node:http builds its facade by reading every
// export, and the WebSocket getters among them load undici at every cold start (bench/README.md).
const { STATUS_CODES } = process.getBuiltinModule('node:http')

/**
 * Longest request target (path and query) served. The longest legitimate one, a list with
 * every filter and a cursor, is well below; Node's `maxHeaderSize` (16 KiB) bounds it anyway.
 */
export const MAX_URL_LENGTH = 4096
/** Request line and headers together (Node's default, made explicit): more is a 431. A token is about 1 KiB. */
export const MAX_HEADER_BYTES = 16 * 1024
/** Longest path parameter (a record id is 36 characters). */
export const MAX_PARAM_LENGTH = 200
/**
 * How much of a body answered before it was read is still read and thrown away, and for how long
 * (nginx's "lingering close"); past either the connection is closed regardless.
 */
const LINGER_MAX_BYTES = 16 * 1024 * 1024
const LINGER_MAX_MS = 5_000

/** RFC 3986: a request target is visible ASCII; anything else was never percent-encoded. */
const NOT_URI_CHARACTER = /[^\x21-\x7e]/
const MALFORMED_PERCENT = /%(?![0-9A-Fa-f]{2})/

/** Refuses a request target that is too long or not well-formed, before any token check. */
export function checkRequestTarget (url: string): void {
  if (url.length > MAX_URL_LENGTH) throw new UriTooLongError(MAX_URL_LENGTH)
  if (NOT_URI_CHARACTER.test(url)) throw new InvalidEncodingError('The request target holds characters that must be percent-encoded')
  const queryStart = url.indexOf('?')
  if (queryStart === -1) return
  // The query parser would keep `%zz` or `%C3%28` as literal text: a malformed query is a 400, not a filter value.
  const query = url.slice(queryStart + 1)
  if (MALFORMED_PERCENT.test(query)) throw new InvalidEncodingError('The query string has a malformed percent-encoding')
  try {
    decodeURIComponent(query)
  } catch {
    throw new InvalidEncodingError('The query string does not decode to UTF-8')
  }
}

/**
 * Passes a request body through unchanged, failing it with a 400 at the first byte that is not
 * UTF-8 (RFC 8259 §8.1). Without it the JSON parser would store U+FFFD in place of the bytes sent.
 */
export function utf8Checked (payload: Readable): Readable {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const invalid = () => new InvalidEncodingError('The request body is not valid UTF-8')
  const checked = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      try {
        decoder.decode(chunk, { stream: true })
        callback(null, chunk)
      } catch {
        callback(invalid())
      }
    },
    flush (callback) {
      try {
        decoder.decode()
        callback()
      } catch {
        callback(invalid())
      }
    }
  })
  // Not pipeline(): a failed check must not destroy the socket before the 400 is written.
  payload.on('error', (error) => checked.destroy(error))
  // A body nobody reads (a 415, a 429) still flows through the check; its failure then has no
  // reader to tell and must not become an uncaught exception.
  checked.on('error', () => {})
  return payload.pipe(checked)
}

function hasBody (request: Pick<IncomingMessage, 'headers'>): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Connections that already have their answer and are only reading the rest of a body. */
const lingering = new WeakSet<Socket>()

/**
 * Answers sent before the body was read (a 413 from Content-Length, a 415, a 401) must reach a
 * client that is still sending it: a connection closed with unread bytes in it is reset by the
 * kernel, and the client (the gateway, curl, a browser) loses the answer. So the rest of the body
 * is read and thrown away, bounded in bytes and time, and the connection stays usable; Fastify's
 * `Connection: close` after a body error would make Node close it at once.
 */
export function keepReadingUnreadBody (request: FastifyRequest, reply: FastifyReply): void {
  const message = request.raw
  // `complete` is Node's: a request made by inject() has no connection to keep reading from.
  if (message.complete !== false || !hasBody(message) || lingering.has(message.socket)) return
  reply.removeHeader('connection')
  const socket = message.socket
  lingering.add(socket)
  let drained = 0
  const giveUp = () => socket.destroy()
  const timer = setTimeout(giveUp, LINGER_MAX_MS).unref()
  const done = () => {
    clearTimeout(timer)
    lingering.delete(socket)
  }
  // A body check (utf8Checked) may still be piped to, and paused by, a parser that gave up.
  message.unpipe()
  message.on('data', (chunk: Buffer) => {
    drained += chunk.length
    if (drained > LINGER_MAX_BYTES) giveUp()
  })
  message.once('end', done).once('close', done).resume()
}

/**
 * Node's `checkExpectation`: an `Expect` other than `100-continue` (which Node answers itself)
 * is a 417 problem rather than Node's bare one. The body, if any, is read and dropped by Node.
 */
export function expectationFailed (request: IncomingMessage, response: ServerResponse): void {
  const body = problemBody({ ...(request.url === undefined ? {} : { url: request.url }), id: randomUUID() }, 'SR_EXPECTATION_FAILED', 'The only expectation this server meets is Expect: 100-continue')
  const text = JSON.stringify(body)
  response.writeHead(body.status, { ...securityHeaders(), 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', 'x-request-id': body.requestId }).end(text)
}

/**
 * Fastify's `frameworkErrors`: a path that is not valid percent-encoded UTF-8, or a path
 * parameter over MAX_PARAM_LENGTH, never reaches routing or the error handler; answer it as
 * problem+json too, with the API's headers (the base app's onRequest hook has not run).
 */
export function frameworkErrorReply (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
  const body = problemBody(request, tooLong ? 'SR_URI_TOO_LONG' : 'SR_INVALID_ENCODING',
    tooLong ? `A path segment is longer than ${MAX_PARAM_LENGTH} characters` : 'The request path is not valid percent-encoded UTF-8')
  reply.code(body.status).type(PROBLEM_CONTENT_TYPE).headers(securityHeaders())
    .header('cache-control', 'no-store').header('x-request-id', request.id)
    .send(body)
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refuses (headers over
 * `maxHeaderSize`, broken request lines, slow senders past `requestTimeout`) get a
 * problem+json answer and the connection is closed. The parser error is never logged whole:
 * its `rawPacket` holds the request bytes, Authorization header included.
 */
export function clientErrorHandler (this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  // Its answer was sent; the rest of its body came too slowly (keepReadingUnreadBody).
  if (lingering.has(socket)) {
    socket.destroy()
    return
  }
  const code = (error.code && frameworkProblemCodes[error.code]) || 'SR_INVALID_REQUEST'
  const detail = code === 'SR_HEADERS_TOO_LARGE'
    ? 'The request line and headers are larger than this server accepts'
    : code === 'SR_REQUEST_TIMEOUT' ? 'The request was not received completely in time' : 'The request is not valid HTTP/1.1'
  const body = problemBody({ id: randomUUID() }, code, detail)
  this.log.debug({ code: error.code, status: body.status }, 'client error')
  const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !response?.headersSent) {
    const text = JSON.stringify(body)
    const headers = Object.entries({ ...securityHeaders(), 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', connection: 'close' })
    socket.write(`HTTP/1.1 ${body.status} ${STATUS_CODES[body.status]}\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${text}`)
  }
  socket.destroySoon()
}

/** Request target and body encoding checks, ahead of token verification and parsing. */
const requestLimits: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', async (request) => checkRequestTarget(request.raw.url ?? '/'))
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (!hasBody(request)) return payload
    // A coded body (gzip) is checked by the route that accepts it, after decoding; others refuse it.
    const coding = request.headers['content-encoding']?.trim().toLowerCase()
    if (coding !== undefined && coding !== 'identity') {
      if (request.routeOptions.config.contentEncodings?.includes(coding)) return payload
      throw new UnsupportedMediaTypeError(`Content-Encoding ${coding.slice(0, 50)} is not accepted here`)
    }
    return utf8Checked(payload)
  })
}

export default fp(requestLimits, { name: 'security-records-request-limits', fastify: '5.x' })
