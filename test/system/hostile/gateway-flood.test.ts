import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { startMemoryStack } from '../../support/local-stack.ts'
import { rawRequest } from './raw-http.ts'

/**
 * Floods of held-open and slow uploads against the local stack's gateway, without credentials
 * (`/oauth2/token` needs none), from several client addresses (127.0.0.x are all loopback on
 * Linux). Before, ~300 uploads held open and ~20 of them reset ended the process ("Unhandled
 * 'error' event" on a forwarded body no one listened to yet), and so did ~400 slow uploads
 * reaching REQUEST_TIMEOUT_MS. Each flood must leave the stack serving a client from another address,
 * and every request past the gateway's bounds gets a problem+json 503 with Retry-After.
 */

/** Short, so the slow uploads reach it quickly. */
const REQUEST_TIMEOUT_MS = 3000
const FLOODERS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']
const UPLOADS = 300
/** A legitimate client, on an address of its own. */
const BYSTANDER = '127.0.0.9'

const stack = await startMemoryStack(t, { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) })
const port = Number(new URL(stack.url).port)

interface HeldUpload {
  socket: Socket
  /** Everything the gateway sent back on this connection so far. */
  received (): string
  closed: Promise<void>
}

/** An upload whose headers and the start of whose body are sent; the rest never comes unless written. */
function holdUpload (localAddress: string): HeldUpload {
  const socket = connect({ port, host: '127.0.0.1', localAddress })
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.write('POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000\r\n\r\ngrant_type=')
  return { socket, received: () => received, closed }
}

function flood (t: Test): HeldUpload[] {
  const uploads = Array.from({ length: UPLOADS }, (_, index) => holdUpload(FLOODERS[index % FLOODERS.length]!))
  t.teardown(() => { for (const upload of uploads) upload.socket.destroy() })
  return uploads
}

const bystander = (request: string) => rawRequest(port, request, { localAddress: BYSTANDER, timeoutMs: 20_000 })
const form = 'grant_type=client_credentials'
const tokenRequest = `POST /oauth2/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`
const token = JSON.parse((await bystander(tokenRequest)).body).access_token as string

/**
 * While the flood holds the token endpoint: the health check and another function answer a
 * client on another address at once; the flooded function answers it or refuses it with a 503,
 * never a hang. Once the flood is gone, it serves again.
 */
async function assertStillServing (t: Test, uploads: HeldUpload[]) {
  const health = await bystander('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
  t.equal(health.status, 200, 'the stack answers /healthz')
  const list = await bystander(`GET /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
  t.equal(list.status, 200, `another function is not held up by the flood (${Math.round(list.elapsedMs)} ms)`)
  const during = await bystander(tokenRequest)
  t.ok(during.status === 200 || (during.status === 503 && during.headers['retry-after'] !== undefined), `the flooded function answers or refuses with Retry-After (${during.status} in ${Math.round(during.elapsedMs)} ms)`)
  for (const upload of uploads) upload.socket.destroy()
  await sleep(200)
  const after = await bystander(tokenRequest)
  t.equal(after.status, 200, `after the flood, a token again (${Math.round(after.elapsedMs)} ms)`)
}

/** Answers that are a problem+json 503 with Retry-After. */
function refusals (uploads: HeldUpload[]): number {
  return uploads.filter((upload) => /^HTTP\/1\.1 503 [^]*retry-after: \d+[^]*application\/problem\+json[^]*"status":503/i.test(upload.received())).length
}

t.test('300 uploads held open, 20 of them reset: the process lives, requests past the queue bound get a 503, others are served', async (t) => {
  const uploads = flood(t)
  // Every upload reached the gateway: those past its bound have their 503 already.
  const deadline = performance.now() + 2000
  while (refusals(uploads) === 0 && performance.now() < deadline) await sleep(50)
  const refused = refusals(uploads)
  t.ok(refused > 0, `requests queued past the bound got a problem+json 503 with Retry-After (${refused} of ${UPLOADS})`)
  t.ok(refused < UPLOADS, 'the rest are in flight or waiting for a connection')

  // Reset 20 that are still waiting, spread over the flood (in flight, and queued for an upstream connection).
  const waiting = uploads.filter((upload) => upload.received() === '')
  for (let index = 0; index < 20; index++) waiting[Math.floor(index * waiting.length / 20)]!.socket.resetAndDestroy()
  await sleep(300)
  await assertStillServing(t, uploads)
})

t.test('300 slow uploads reaching REQUEST_TIMEOUT_MS: each gets its 408 or 503, and the process lives', async (t) => {
  const uploads = flood(t)
  // One more byte every half second: slow, never idle.
  const trickle = setInterval(() => { for (const upload of uploads) if (!upload.socket.destroyed) upload.socket.write('a') }, 500)
  t.teardown(() => clearInterval(trickle))
  await Promise.race([Promise.all(uploads.map((upload) => upload.closed)), sleep(REQUEST_TIMEOUT_MS * 4)])
  clearInterval(trickle)
  const answered = uploads.filter((upload) => /^HTTP\/1\.1 (408|503) /.test(upload.received())).length
  t.equal(answered, UPLOADS, `every slow upload got a 408 or a 503 (${answered} of ${UPLOADS})`)
  await assertStillServing(t, uploads)
})

t.test('one address holds at most 96 connections: requests on more get a 503 and never reach a function', async (t) => {
  const uploads = Array.from({ length: 120 }, () => holdUpload('127.0.0.5'))
  t.teardown(() => { for (const upload of uploads) upload.socket.destroy() })
  const deadline = performance.now() + 5000
  while (refusals(uploads) < 24 && performance.now() < deadline) await sleep(50)
  t.equal(refusals(uploads), 24, 'the 24 connections past the limit got a problem+json 503 with Retry-After')
  t.match(uploads.find((upload) => upload.received() !== '')!.received(), /connections open to the gateway/, 'naming the limit')
  await assertStillServing(t, uploads)
})
