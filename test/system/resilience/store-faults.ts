import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import type { Test } from 'tap'

/** Strings that must never reach a client: SDK and transport internals, stack frames, addresses. */
export const INTERNALS = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket|Throttling|Exception|dynamodb|amazonaws|\$metadata|127\.0\.0\.1|\bat .+:\d+:\d+|node_modules|\.ts\b/i

/** A DynamoDB endpoint that accepts connections and never answers: the store hangs. */
export async function startHangingStore (t: Test): Promise<{ endpoint: string, connections: () => number }> {
  const sockets = new Set<Socket>()
  let connections = 0
  const server = createTcpServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resolve())
  }))
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections }
}

export interface StoreProxy {
  endpoint: string
  /** The next `count` store requests are answered with ThrottlingException (Infinity: all). */
  throttle (count: number): void
  /** Holds every store request this long before passing it on: requests stay in flight. */
  delay (ms: number): void
  /** When each store request arrived, and whether it was throttled. */
  requests: Array<{ at: number, throttled: boolean }>
}

/** Sits in front of a real store; answers with DynamoDB's ThrottlingException, or slowly, when told to. */
export async function startStoreProxy (t: Test, upstream: string): Promise<StoreProxy> {
  let remaining = 0
  let delayMs = 0
  const requests: StoreProxy['requests'] = []
  const target = new URL(upstream)
  const server = createServer((incoming, outgoing) => {
    const throttled = remaining > 0
    requests.push({ at: performance.now(), throttled })
    if (throttled) {
      remaining--
      incoming.resume()
      const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' })
      outgoing.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'ThrottlingException', 'content-length': Buffer.byteLength(body) }).end(body)
      return
    }
    const headers: IncomingHttpHeaders = { ...incoming.headers, host: target.host }
    incoming.pause()
    setTimeout(() => forward(headers, incoming, outgoing), delayMs)
  })
  const forward = (headers: IncomingHttpHeaders, incoming: IncomingMessage, outgoing: ServerResponse) => {
    const forwarded = httpRequest({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers }, (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers)
      response.pipe(outgoing)
    })
    forwarded.on('error', () => outgoing.destroy())
    incoming.pipe(forwarded)
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    throttle (count) { remaining = count },
    delay (ms) { delayMs = ms },
    requests
  }
}
