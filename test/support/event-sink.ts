import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface ReceivedEvent {
  headers: IncomingHttpHeaders
  body: string
}

export interface EventSinkServer {
  url: string
  received: ReceivedEvent[]
  /** Every delivery attempt, refused ones included. */
  attempts (): number
  /** Makes the sink answer this status (e.g. 503 to play "down"); 202 by default. */
  respondWith (status: number): void
  /** Makes the sink answer 503 to the deliveries `refused` picks (a flaky broker), until called without. */
  refuseWhen (refused?: (event: ReceivedEvent) => boolean): void
}

/** A local HTTP endpoint standing in for K_SINK (a Knative broker) that records what it gets. */
export async function startEventSink (t: Test): Promise<EventSinkServer> {
  const received: ReceivedEvent[] = []
  let status = 202
  let refuses: ((event: ReceivedEvent) => boolean) | undefined
  let attempts = 0
  const server = createServer((request, response) => {
    attempts++
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const event = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }
      const answer = refuses?.(event) ? 503 : status
      if (answer < 300) received.push(event)
      response.writeHead(answer).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    attempts: () => attempts,
    respondWith (next) { status = next },
    refuseWhen (refused) { refuses = refused }
  }
}
