import { connect } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** Milliseconds from sending to the complete answer. */
  elapsedMs: number
}

/**
 * Sends bytes exactly as given (no client library would send most of these) and reads one
 * HTTP/1.1 response: until Content-Length bytes of body arrived or the server closed.
 */
export function rawRequest (port: number, request: Buffer | string, { timeoutMs = 10_000, endAfterMs, localAddress }: { timeoutMs?: number, endAfterMs?: number, localAddress?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) })
    const chunks: Buffer[] = []
    let settled = false
    const finish = (error?: Error) => {
      if (settled) return
      const parsed = parse(Buffer.concat(chunks))
      if (!error && !parsed) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (parsed) resolve({ ...parsed, elapsedMs: performance.now() - started })
      else reject(error)
    }
    const timer = setTimeout(() => finish(new Error(`no complete response within ${timeoutMs} ms: ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`)), timeoutMs)
    socket.on('data', (chunk: Buffer) => { chunks.push(chunk); finish() })
    socket.on('end', () => finish(new Error(`connection closed without a complete response: ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`)))
    socket.on('error', (error) => finish(error))
    socket.write(request)
    if (endAfterMs === undefined) return
    setTimeout(() => { if (!settled) socket.end() }, endAfterMs)
  })
}

function parse (data: Buffer): Omit<RawResponse, 'elapsedMs'> | undefined {
  const headerEnd = data.indexOf('\r\n\r\n')
  if (headerEnd === -1) return undefined
  const [statusLine, ...lines] = data.subarray(0, headerEnd).toString('latin1').split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const body = data.subarray(headerEnd + 4)
  const length = Number(headers['content-length'] ?? 0)
  if (body.length < length) return undefined
  return { status: Number(statusLine!.split(' ')[1]), headers, body: body.subarray(0, length).toString('utf8') }
}
