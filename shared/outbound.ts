import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'

/**
 * The API's own outbound HTTP calls (the issuer's JWKS, the CloudEvents sink) through node:http
 * and node:https instead of global fetch: fetch loads undici, ~47 ms of CPU and ~10 MB at the
 * first call, which a function paid on its first request.
 *
 * What fetch gave these calls, kept: TLS verified against Node's CAs (https.request's default,
 * NODE_EXTRA_CA_CERTS included), keep-alive connections (Node's global agents), one deadline for
 * the whole exchange. What it did not: a redirect is never followed (the URLs are configured,
 * and a redirect could lead a key lookup elsewhere) and a body is read only up to `maxBytes`.
 */
export interface OutboundRequest {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Connect, send and the whole answer within this, or the call fails with code OUTBOUND_TIMEOUT. */
  timeoutMs: number
  /** A longer answer fails with code OUTBOUND_TOO_LARGE (default 1 MiB). */
  maxBytes?: number
  /** https: trust these CA certificates (PEM) for this call, in place of Node's. */
  ca?: string | Buffer
}

export interface OutboundResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export class OutboundError extends Error {
  readonly code: 'OUTBOUND_TIMEOUT' | 'OUTBOUND_TOO_LARGE'
  constructor (code: OutboundError['code'], message: string) {
    super(message)
    this.name = 'OutboundError'
    this.code = code
  }
}

const DEFAULT_MAX_BYTES = 1024 * 1024

/** One request and its whole answer, any status (a 3xx included: redirects are the caller's failure to report). */
export function send (target: string | URL, { method = 'GET', headers = {}, body, timeoutMs, maxBytes = DEFAULT_MAX_BYTES, ca }: OutboundRequest): Promise<OutboundResponse> {
  const url = typeof target === 'string' ? new URL(target) : target
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new Error(`outbound: ${url.protocol} is not http or https`))
  const requestHeaders = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:'
      ? httpsRequest(url, { method, headers: requestHeaders, ...(ca === undefined ? {} : { ca }) })
      : httpRequest(url, { method, headers: requestHeaders })
    // The first failure is the answer (a destroyed request also fails its response with ECONNRESET).
    let settled = false
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      reject(error)
      request.destroy()
    }
    const deadline = setTimeout(() => fail(new OutboundError('OUTBOUND_TIMEOUT', `no complete answer within ${timeoutMs} ms`)), timeoutMs)
    request.on('error', fail)
    request.on('response', (response) => {
      const tooLarge = () => fail(new OutboundError('OUTBOUND_TOO_LARGE', `the answer exceeds ${maxBytes} bytes`))
      if (Number(response.headers['content-length']) > maxBytes) return tooLarge()
      const chunks: Buffer[] = []
      let received = 0
      response.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received > maxBytes) return tooLarge()
        chunks.push(chunk)
      })
      response.on('error', fail)
      response.on('end', () => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) })
      })
    })
    request.end(body)
  })
}
