import { Agent, request, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { startStoreProxy } from '../system/resilience/store-faults.ts'
import { startTestStore } from '../support/store.ts'
import { localToken, startStack } from './start-process.ts'

const IN_FLIGHT = 30
/** Every store call takes this long once the requests under test are sent: they are all in flight at SIGTERM. */
const STORE_DELAY_MS = 1500

type Outcome = { status: number, body: string } | { error: string }

/** One GET; `written` resolves once the whole request is on the wire. */
function get (agent: Agent | false, url: URL, authorization: string): { answer: Promise<Outcome>, written: Promise<void> } {
  let markWritten = () => {}
  const written = new Promise<void>((resolve) => { markWritten = resolve })
  const answer = new Promise<Outcome>((resolve) => {
    const outgoing = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, agent, headers: { authorization } }, (response: IncomingMessage) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
    outgoing.on('finish', markWritten)
    outgoing.on('error', (error: NodeJS.ErrnoException) => { markWritten(); resolve({ error: error.code ?? error.message }) })
    outgoing.end()
  })
  return { answer, written }
}

/** Tries new connections until one is refused; when that was. */
async function refusedConnectionAt (port: number): Promise<number> {
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(false) })
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'))
    })
    if (refused) return performance.now()
    await sleep(20)
  }
}

/**
 * `npm start` (a real process) behind a store that answers slowly, a client that keeps its
 * connections alive (as fetch, curl and browsers do), and SIGTERM while IN_FLIGHT list requests
 * are on their way — `when` says how far they got: just sent (the signal may be handled before
 * their bytes arrive), written to the wire, or waiting on the store inside the functions.
 */
async function sigtermDuringLists (t: Test, when: 'sent' | 'written' | 'in the functions') {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const proxy = await startStoreProxy(t, store.endpoint)
  const stack = await startStack(t, { DATA_DIR: ':memory:', DYNAMODB_ENDPOINT: proxy.endpoint, TABLE_NAME: store.tableName, REVOCATION_CACHE_MS: '60000', RATE_LIMIT: 'off' })
  const authorization = `Bearer ${await localToken(stack.url)}`
  const list = new URL('/v1/records?limit=5', stack.url)
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT })
  t.teardown(() => agent.destroy())

  // Warm: every function has a connection to the store, the client IN_FLIGHT idle kept-alive connections.
  const warm = await Promise.all(Array.from({ length: IN_FLIGHT }, () => get(agent, list, authorization).answer))
  t.ok(warm.every((outcome) => 'status' in outcome && outcome.status === 200), 'warm-up lists answered 200')
  // A list sends one Query per index shard: all of them reach the store before the lists count as
  // waiting on it. Counted on a second round, once what each process reads once (the layout, the
  // token's revocation entry, read by as many of the first round as raced for it) is cached.
  const beforeCount = proxy.requests.length
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => get(agent, list, authorization).answer))
  const storeCallsPerList = Math.floor((proxy.requests.length - beforeCount) / IN_FLIGHT)

  proxy.delay(STORE_DELAY_MS)
  const before = proxy.requests.length
  const requests = Array.from({ length: IN_FLIGHT }, () => get(agent, list, authorization))
  if (when !== 'sent') await Promise.all(requests.map((sent) => sent.written))
  if (when === 'in the functions') while (proxy.requests.length - before < IN_FLIGHT * storeCallsPerList) await sleep(5)
  const signalled = performance.now()
  stack.child.kill('SIGTERM')

  let firstAnswerAt = Infinity
  for (const sent of requests) sent.answer.then(() => { firstAnswerAt = Math.min(firstAnswerAt, performance.now()) })
  const refusedAt = await refusedConnectionAt(Number(list.port))
  t.ok(refusedAt < firstAnswerAt, `new connections were refused ${Math.round(refusedAt - signalled)} ms after SIGTERM, before the requests in flight were answered: the gateway stopped accepting first`)

  const outcomes = await Promise.all(requests.map((sent) => sent.answer))
  const dropped = outcomes.filter((outcome) => !('status' in outcome) || outcome.status !== 200)
  t.equal(dropped.length, 0, `none of the ${IN_FLIGHT} lists in flight was dropped${dropped.length > 0 ? `: ${JSON.stringify(dropped.slice(0, 3))}` : ''}`)
  t.ok(outcomes.every((outcome) => 'body' in outcome && Array.isArray(JSON.parse(outcome.body).items)), 'each got its page')

  const code = await stack.exited
  t.equal(code, 0, `exit code 0 (${stack.output().split('\n').filter((line) => /SIGTERM|error/i.test(line)).join(' | ')})`)
  t.comment(`SIGTERM with ${IN_FLIGHT} lists ${when}: ${dropped.length} of ${IN_FLIGHT} dropped, exit ${code} after ${Math.round(performance.now() - signalled)} ms`)
}

t.test(`SIGTERM to npm start in the instant ${IN_FLIGHT} list requests are sent on kept-alive connections: each is still served, then it exits 0`, async (t) => {
  await sigtermDuringLists(t, 'sent')
})

t.test(`SIGTERM to npm start right after ${IN_FLIGHT} list requests were written on kept-alive connections: every one is answered, then it exits 0`, async (t) => {
  await sigtermDuringLists(t, 'written')
})

t.test(`SIGTERM to npm start while ${IN_FLIGHT} list requests wait on the store: every one is answered through the functions, then it exits 0`, async (t) => {
  await sigtermDuringLists(t, 'in the functions')
})

for (const delayMs of [0, 80]) {
  t.test(`SIGTERM ${delayMs} ms after ${IN_FLIGHT} lists are sent, each on a new connection: none is reset, every one is answered, then it exits 0`, async (t) => {
    const stack = await startStack(t, { DATA_DIR: ':memory:', RATE_LIMIT: 'off' })
    const authorization = `Bearer ${await localToken(stack.url)}`
    const list = new URL('/v1/records?limit=5', stack.url)
    const requests = Array.from({ length: IN_FLIGHT }, () => get(false, list, authorization))
    await sleep(delayMs)
    stack.child.kill('SIGTERM')
    const outcomes = await Promise.all(requests.map((sent) => sent.answer))
    const dropped = outcomes.filter((outcome) => !('status' in outcome) || outcome.status !== 200)
    t.equal(dropped.length, 0, `none of the ${IN_FLIGHT} connections was reset or refused${dropped.length > 0 ? `: ${JSON.stringify(dropped.slice(0, 3))}` : ''}`)
    t.equal(await stack.exited, 0, 'exit code 0')
  })
}
