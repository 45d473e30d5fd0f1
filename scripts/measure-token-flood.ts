/**
 * How the token endpoint stands up to secret guessing and to a flood of wrong secrets, measured
 * through the local stack (`npm start`'s gateway, mock-auth and record functions), which runs in a
 * child process as it would for a real attacker. Each scenario gets a fresh in-memory stack, so one
 * scenario's throttling does not colour the next.
 *
 * - guessing: 100 wrong secrets for `local-admin`, one after another: requests/s, and how many of
 *   them were really checked (401) rather than refused unchecked (429).
 * - idle: a legitimate `local-reader` token request, sequentially: p50 and max.
 * - burst: 300 concurrent wrong-secret requests for `local-admin`, and the legitimate client's
 *   requests (plus a `GET /v1/records` of another client) while they are in flight.
 * - sustained: 300 wrong-secret requests kept in flight for a few seconds; three variants — all for
 *   `local-admin`, each for a random unknown client id, and all for the legitimate client's own id.
 *
 * The legitimate client and the list run one request at a time, 50 ms apart, while the flood lasts.
 *
 * `--via gateway` (default) sends everything through the local gateway, which shares one process
 * with every function; `--via pods` sends it straight to mock-auth's and list-records' own ports,
 * as Envoy (a proxy of its own, on other cores) does in the cluster: what one pod sees.
 *
 * `node scripts/measure-token-flood.ts [--seconds 5] [--via gateway|pods] [--json]`
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { startLocalStack } from '../local-dev/stack.ts'

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, json: { type: 'boolean', default: false }, via: { type: 'string', default: 'gateway' }, serve: { type: 'boolean', default: false } } })

if (args.serve) {
  // The child: one stack, its URL on stdout, gone when the parent closes stdin.
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  process.stdout.write(`${JSON.stringify({ url: stack.url, functions: stack.functions })}\n`)
  process.stdin.on('end', () => { stack.close().then(() => process.exit(0), () => process.exit(1)) }).resume()
  await new Promise(() => {})
}

if (args.via !== 'gateway' && args.via !== 'pods') throw new Error(`--via gateway or --via pods, not ${args.via}`)
/** Where the token requests and the lists go: the gateway, or the two functions' own ports. */
interface LocalStack { tokenOrigin: string, listOrigin: string }
const SUSTAINED_MS = Number(args.seconds) * 1000
const FLOOD = 300
const LEGITIMATE = { id: 'local-reader', secret: 'local-reader-secret' }
/** A legitimate client asks for one token at a time, with a pause between: not a flood of its own. */
const PROBE_INTERVAL_MS = 50

interface Latencies { count: number, p50: number, max: number }
interface Outcome { requests: number, perSecond: number, statuses: Record<string, number>, checkedPerSecond: number }

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

/** A token request; a connection that fails or times out counts as status 0. */
async function tokenRequest (stack: LocalStack, id: string, secret: string): Promise<{ status: number, body: string }> {
  try {
    const response = await fetch(`${stack.tokenOrigin}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials'
    })
    return { status: response.status, body: await response.text() }
  } catch {
    return { status: 0, body: '' }
  }
}

function summarise (samples: number[]): Latencies {
  const sorted = [...samples].sort((a, b) => a - b)
  const round = (ms: number) => Math.round(ms * 10) / 10
  return { count: sorted.length, p50: round(sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN), max: round(sorted.at(-1) ?? NaN) }
}

function tally (statuses: number[], elapsedMs: number): Outcome {
  const counts: Record<string, number> = {}
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1
  return {
    requests: statuses.length,
    perSecond: Math.round(statuses.length / (elapsedMs / 1000) * 10) / 10,
    statuses: counts,
    checkedPerSecond: Math.round((counts[401] ?? 0) / (elapsedMs / 1000) * 10) / 10
  }
}

async function withStack<T> (run: (stack: LocalStack) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [line] = await once(createInterface({ input: child.stdout }), 'line') as [string]
  const { url, functions } = JSON.parse(line) as { url: string, functions: Record<string, string> }
  const direct = args.via === 'pods'
  try {
    return await run({ tokenOrigin: direct ? functions['mock-auth']! : url, listOrigin: direct ? functions['list-records']! : url })
  } finally {
    child.stdin.end()
    await once(child, 'exit')
  }
}

/**
 * Runs `probe` again and again, `pauseMs` apart, until `done` says the flood is over (at least
 * once): one request at a time, as a real client does; resolves with every probe's latency and outcome.
 */
async function probeDuring<T> (done: () => boolean, pauseMs: number, probe: () => Promise<T>): Promise<Array<{ ms: number, outcome: T }>> {
  const samples: Array<{ ms: number, outcome: T }> = []
  do {
    const started = performance.now()
    const outcome = await probe()
    samples.push({ ms: performance.now() - started, outcome })
    await sleep(pauseMs)
  } while (!done())
  return samples
}

const legitimateToken = (stack: LocalStack) => async () => (await tokenRequest(stack, LEGITIMATE.id, LEGITIMATE.secret)).status

/** A list by another client, with a token taken before the flood. */
const otherClientList = (stack: LocalStack, token: string) => async () => {
  try {
    const response = await fetch(`${stack.listOrigin}/v1/records?limit=5`, { headers: { authorization: `Bearer ${token}` } })
    await response.arrayBuffer()
    return response.status
  } catch {
    return 0
  }
}

function report (samples: Array<{ ms: number, outcome: number }>) {
  return { ...summarise(samples.map((sample) => sample.ms)), statuses: tally(samples.map((sample) => sample.outcome), 1000).statuses }
}

async function warmUp (stack: LocalStack): Promise<string> {
  // The legitimate client has used the server before the attack starts, as a real one would have.
  for (let i = 0; i < 5; i++) await tokenRequest(stack, LEGITIMATE.id, LEGITIMATE.secret)
  const other = await tokenRequest(stack, 'local-other', 'local-other-secret')
  return (JSON.parse(other.body) as { access_token: string }).access_token
}

const results: Record<string, unknown> = {}
const record = (name: string, result: unknown) => {
  results[name] = result
  if (!args.json) console.log(`${name}: ${JSON.stringify(result)}`)
}

record('guessing', await withStack(async (stack) => {
  const statuses: number[] = []
  const started = performance.now()
  for (let i = 0; i < 100; i++) statuses.push((await tokenRequest(stack, 'local-admin', `guess-${i}`)).status)
  return tally(statuses, performance.now() - started)
}))

record('idle', await withStack(async (stack) => {
  await warmUp(stack)
  const latencies: number[] = []
  for (let i = 0; i < 40; i++) {
    const started = performance.now()
    const { status } = await tokenRequest(stack, LEGITIMATE.id, LEGITIMATE.secret)
    if (status !== 200) throw new Error(`idle token request: ${status}`)
    latencies.push(performance.now() - started)
  }
  return summarise(latencies)
}))

record('burst', await withStack(async (stack) => {
  const listToken = await warmUp(stack)
  let finished = false
  const started = performance.now()
  const flood = Promise.all(Array.from({ length: FLOOD }, (_, i) => tokenRequest(stack, 'local-admin', `guess-${i}`).then((r) => r.status)))
  void flood.then(() => { finished = true })
  const [legitimate, list, statuses] = await Promise.all([
    probeDuring(() => finished, PROBE_INTERVAL_MS, legitimateToken(stack)),
    probeDuring(() => finished, PROBE_INTERVAL_MS, otherClientList(stack, listToken)),
    flood
  ])
  return {
    flood: { ...tally(statuses, performance.now() - started), durationMs: Math.round(performance.now() - started) },
    legitimateToken: report(legitimate),
    otherClientList: report(list)
  }
}))

for (const [name, targetId] of [['sustainedOneClient', () => 'local-admin'], ['sustainedRandomIds', () => `guess-${randomUUID()}`], ['sustainedOwnId', () => LEGITIMATE.id]] as const) {
  record(name, await withStack(async (stack) => {
    const listToken = await warmUp(stack)
    const statuses: number[] = []
    const deadline = performance.now() + SUSTAINED_MS
    const over = () => performance.now() >= deadline
    const worker = async () => {
      while (!over()) statuses.push((await tokenRequest(stack, targetId(), `guess-${randomUUID()}`)).status)
    }
    const started = performance.now()
    const flood = Promise.all(Array.from({ length: FLOOD }, worker))
    const [legitimate, list] = await Promise.all([probeDuring(over, PROBE_INTERVAL_MS, legitimateToken(stack)), probeDuring(over, PROBE_INTERVAL_MS, otherClientList(stack, listToken)), flood])
    return {
      flood: tally(statuses, performance.now() - started),
      legitimateToken: report(legitimate),
      otherClientList: report(list)
    }
  }))
}

if (args.json) console.log(JSON.stringify(results, null, 2))
