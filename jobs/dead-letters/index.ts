/**
 * The dead-letter sink of the Knative broker and the ingest-finding Trigger
 * (`dist/jobs/dead-letters/index.mjs` in the image, Knative Service `dead-letters`): every
 * CloudEvent the broker gave up on — an invalid finding its subscriber answered 4xx, or one that
 * still failed after the retries — arrives here and is written to the log as one JSON line, with
 * the reason Knative attaches (`knativeerrorcode`, `knativeerrordest`, `knativeerrordata`).
 * It always answers 202, so a dead letter is never bounced back. No store, no secrets.
 *
 *   node jobs/dead-letters/index.ts     (PORT, HOST as every function)
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { Type, type Static } from 'typebox'
import { ConfigSchema, loadSettings } from '../../shared/config.ts'

const { PORT, HOST } = ConfigSchema.properties
export const DeadLetterConfigSchema = Type.Object({ PORT, HOST })
export type DeadLetterConfig = Static<typeof DeadLetterConfigSchema>

/** At most this much of an event's data goes into the log line; the rest is counted, not kept. */
export const MAX_LOGGED_BYTES = 64 * 1024

export interface DeadLetter {
  /** CloudEvent attributes (binary mode: the `ce-` headers; structured mode: the envelope). */
  attributes: Record<string, string>
  /** Why Knative gave up, from its error extensions. */
  error: { code?: string, destination?: string, response?: string }
  contentType?: string
  data?: unknown
  bytes: number
  truncated: boolean
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Reads a dead-lettered request (either CloudEvents HTTP mode) into one loggable object. */
export function describeDeadLetter (headers: IncomingMessage['headers'], body: Buffer, bytes: number): DeadLetter {
  const truncated = bytes > body.length
  const contentType = headers['content-type']
  let attributes: Record<string, string> = {}
  let data: unknown
  if (/^application\/cloudevents\+json/i.test(contentType ?? '') && !truncated) {
    const envelope = parseJson(body.toString('utf8'))
    if (envelope && typeof envelope === 'object' && !Array.isArray(envelope)) {
      const { data: inner, data_base64: inner64, ...rest } = envelope as Record<string, unknown>
      attributes = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]))
      data = inner ?? inner64
    } else {
      data = envelope
    }
  } else {
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith('ce-') && value !== undefined) attributes[name.slice(3)] = Array.isArray(value) ? value.join(',') : value
    }
    const text = body.toString('utf8')
    data = bytes === 0 ? undefined : (/json/i.test(contentType ?? '') && !truncated ? parseJson(text) : text)
  }
  const { knativeerrorcode: code, knativeerrordest: destination, knativeerrordata: errorData } = attributes
  const response = errorData === undefined ? undefined : Buffer.from(errorData, 'base64').toString('utf8')
  return {
    attributes,
    error: { ...(code === undefined ? {} : { code }), ...(destination === undefined ? {} : { destination }), ...(response === undefined ? {} : { response }) },
    ...(contentType === undefined ? {} : { contentType }),
    ...(data === undefined ? {} : { data }),
    bytes,
    truncated
  }
}

export function createDeadLetterSink (log: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Server {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://sink')
    if (request.method === 'GET' && url.pathname === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      return
    }
    if (request.method !== 'POST') {
      request.resume()
      response.writeHead(405, { allow: 'POST' }).end()
      return
    }
    const chunks: Buffer[] = []
    let kept = 0
    let bytes = 0
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (kept < MAX_LOGGED_BYTES) {
        const part = chunk.subarray(0, MAX_LOGGED_BYTES - kept)
        chunks.push(part)
        kept += part.length
      }
    })
    request.on('end', () => {
      const letter = describeDeadLetter(request.headers, Buffer.concat(chunks), bytes)
      log(JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: 'dead letter', ...letter }))
      response.writeHead(202).end()
    })
    request.on('error', () => response.destroy())
  })
  server.requestTimeout = 30_000
  return server
}

if (import.meta.main) {
  let config: DeadLetterConfig
  try {
    config = loadSettings(DeadLetterConfigSchema, process.env)
  } catch (error) {
    console.error(`dead-letters: ${(error as Error).message}`)
    process.exit(1)
  }
  const server = createDeadLetterSink()
  server.listen(config.PORT, config.HOST, () => {
    console.log(JSON.stringify({ level: 'info', time: new Date().toISOString(), msg: 'dead-letter sink listening', port: config.PORT }))
  })
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => server.close(() => process.exit(0)))
  }
}
