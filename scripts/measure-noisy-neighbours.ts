/**
 * How much one tenant's flood slows another tenant's requests through the local stack (`npm start`
 * as a process of its own, the flood and the probe in this one): a legitimate client of tenant
 * `local` (address 127.0.0.1) times a create and a read, one after the other, while idle and under
 * each flood, from other addresses:
 *   - 64 concurrent creates by tenant `other` (127.0.0.2; each worker waits what a 429/503's
 *     Retry-After says, as a client library does);
 *   - 10 concurrent big imports by tenant `other` (each worker posts a report and follows it to the end);
 *   - 4 and 64 concurrent unauthenticated `/healthz` calls, back to back (127.0.0.3; an attacker
 *     honours nothing).
 * p50/p95 under each flood ÷ idle, for the code of a git ref (default: main, from `git archive`)
 * and for this checkout, one after the other in the same run:
 *
 *   node scripts/measure-noisy-neighbours.ts [--baseline main] [--seconds 6] [--no-baseline]
 *
 * The stack runs with its deployed defaults except RATE_LIMIT_MAX (raised so the per-client minute
 * budget does not end a flood early: what is measured is concurrency, not the budget).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'

const { values } = parseArgs({
  options: {
    baseline: { type: 'string', default: 'main' },
    'no-baseline': { type: 'boolean', default: false },
    seconds: { type: 'string', default: '6' }
  }
})
const probeSeconds = Number(values.seconds)
const here = new URL('../', import.meta.url).pathname

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** One HTTP request from a given local address (one keep-alive agent per address). */
function send (agent: Agent, url: string, options: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { agent, method: options.method ?? 'GET', headers: options.headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }))
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end(options.body)
  })
}

const agentFrom = (localAddress: string) => new Agent({ keepAlive: true, localAddress, maxSockets: 256 })

async function freePort (): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** The code of `ref` in a temporary directory, using this checkout's node_modules. */
function checkoutOf (ref: string): { dir: string, remove (): void } {
  const dir = mkdtempSync(join(tmpdir(), 'noisy-baseline-'))
  execFileSync('sh', ['-c', `git archive ${JSON.stringify(ref)} | tar -x -C ${JSON.stringify(dir)}`], { cwd: here })
  symlinkSync(join(here, 'node_modules'), join(dir, 'node_modules'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

async function startStack (dir: string): Promise<{ url: string, child: ChildProcess }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['local-dev/start.ts'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: ':memory:', LOG_LEVEL: 'error', RATE_LIMIT: 'on', RATE_LIMIT_MAX: '1000000' }
  })
  const url = `http://127.0.0.1:${port}`
  const agent = agentFrom('127.0.0.1')
  for (let attempt = 0; attempt < 600; attempt++) {
    const answer = await send(agent, `${url}/healthz`).catch(() => undefined)
    if (answer?.status === 200) return { url, child }
    await sleep(100)
  }
  throw new Error(`the stack in ${dir} did not start`)
}

async function tokenFor (agent: Agent, url: string, client: string): Promise<string> {
  const answer = await send(agent, `${url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  if (answer.status !== 200) throw new Error(`token for ${client}: ${answer.status} ${answer.body}`)
  return (JSON.parse(answer.body) as { access_token: string }).access_token
}

const recordBody = (title: string) => JSON.stringify({ title, category: 'vulnerability', severity: 'medium', asset: { name: 'noisy-neighbours', type: 'service' } })

/** A report of `results` distinct results, about 1 KB each. */
function bigReport (results: number, salt: string): string {
  const rules = Array.from({ length: 20 }, (_, i) => ({ id: `noisy.rule-${i}`, shortDescription: { text: `Rule ${i}` }, properties: { 'security-severity': String(3 + (i % 7)) } }))
  return JSON.stringify({
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs: [{
      tool: { driver: { name: 'NoisyScanner', version: '1.0.0', rules } },
      results: Array.from({ length: results }, (_, i) => ({
        ruleId: `noisy.rule-${i % 20}`,
        level: 'warning',
        message: { text: `Finding ${i} of ${salt}: ${'x'.repeat(600)}` },
        partialFingerprints: { primaryLocationLineHash: `${salt}-${i}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: `src/file-${i % 500}.ts` }, region: { startLine: 1 + (i % 900), snippet: { text: 'const secret = read()' } } } }]
      }))
    }]
  })
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN

interface ProbeResult { create: { p50: number, p95: number, n: number }, read: { p50: number, p95: number, n: number }, failures: number }

/** The legitimate client: a create and a read of it, one after the other, for `seconds`. */
async function probe (agent: Agent, url: string, token: string, seconds: number): Promise<ProbeResult> {
  const creates: number[] = []
  const reads: number[] = []
  let failures = 0
  const until = performance.now() + seconds * 1000
  const headers = { authorization: `Bearer ${token}` }
  while (performance.now() < until) {
    let start = performance.now()
    const created = await send(agent, `${url}/v1/records`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: recordBody('probe') })
    creates.push(performance.now() - start)
    if (created.status !== 201) { failures++; continue }
    const id = (JSON.parse(created.body) as { id: string }).id
    start = performance.now()
    const read = await send(agent, `${url}/v1/records/${id}`, { headers })
    reads.push(performance.now() - start)
    if (read.status !== 200) failures++
  }
  const summary = (samples: number[]) => {
    const sorted = [...samples].sort((a, b) => a - b)
    return { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), n: sorted.length }
  }
  return { create: summary(creates), read: summary(reads), failures }
}

interface Flood { stop (): Promise<void>, statuses: Map<number, number> }

/** `workers` loops running `step` until stopped; each counts the statuses it got. */
function flood (workers: number, step: (statuses: Map<number, number>, running: () => boolean) => Promise<void>): Flood {
  let running = true
  const statuses = new Map<number, number>()
  const loops = Array.from({ length: workers }, async () => {
    while (running) await step(statuses, () => running).catch(() => { statuses.set(0, (statuses.get(0) ?? 0) + 1) })
  })
  return { statuses, stop: async () => { running = false; await Promise.all(loops) } }
}

const count = (statuses: Map<number, number>, status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1)

/** A 429 or 503 is waited out as its Retry-After says, as a client library does. */
async function honourRetryAfter (answer: Answer): Promise<void> {
  if (answer.status !== 429 && answer.status !== 503) return
  await sleep(1000 * Number(answer.headers['retry-after'] ?? 1))
}

interface Phase { name: string, start (url: string, tokens: { other: string }): Flood | Promise<Flood> }

const phases: Phase[] = [
  { name: 'idle', start: () => flood(0, async () => {}) },
  {
    name: '4 concurrent /healthz (no token)',
    start: (url) => {
      const agent = agentFrom('127.0.0.3')
      return flood(4, async (statuses) => { count(statuses, (await send(agent, `${url}/healthz`)).status) })
    }
  },
  {
    name: '64 concurrent /healthz (no token)',
    start: (url) => {
      const agent = agentFrom('127.0.0.3')
      return flood(64, async (statuses) => { count(statuses, (await send(agent, `${url}/healthz`)).status) })
    }
  },
  {
    name: '64 concurrent creates (tenant other)',
    start: (url, tokens) => {
      const agent = agentFrom('127.0.0.2')
      return flood(64, async (statuses) => {
        const answer = await send(agent, `${url}/v1/records`, { method: 'POST', headers: { authorization: `Bearer ${tokens.other}`, 'content-type': 'application/json' }, body: recordBody('flood') })
        count(statuses, answer.status)
        await honourRetryAfter(answer)
      })
    }
  },
  {
    name: '10 concurrent big imports (tenant other)',
    start: (url, tokens) => {
      const agent = agentFrom('127.0.0.2')
      let next = 0
      return flood(10, async (statuses, running) => {
        const salt = `flood-${next++}`
        const answer = await send(agent, `${url}/v1/imports?asset=noisy-${salt}&assetType=service`, { method: 'POST', headers: { authorization: `Bearer ${tokens.other}`, 'content-type': 'application/sarif+json' }, body: bigReport(2000, salt) })
        count(statuses, answer.status)
        if (answer.status !== 201 && answer.status !== 202) return honourRetryAfter(answer)
        const location = `${url}${answer.headers.location as string}`
        while (running()) {
          const state = await send(agent, location, { headers: { authorization: `Bearer ${tokens.other}` } })
          if (state.status !== 200 || !/"status":"(queued|running)"/.test(state.body)) return
          await sleep(500)
        }
      })
    }
  }
]

interface PhaseResult { name: string, probe: ProbeResult, flood: Record<string, number> }

async function measure (label: string, dir: string): Promise<PhaseResult[]> {
  const { url, child } = await startStack(dir)
  try {
    const legit = agentFrom('127.0.0.1')
    const tokens = { local: await tokenFor(legit, url, 'local-admin'), other: await tokenFor(agentFrom('127.0.0.2'), url, 'local-other') }
    await probe(legit, url, tokens.local, 2)
    const results: PhaseResult[] = []
    for (const phase of phases) {
      const running = await phase.start(url, tokens)
      await sleep(1000)
      const result = await probe(legit, url, tokens.local, probeSeconds)
      await running.stop()
      results.push({ name: phase.name, probe: result, flood: Object.fromEntries([...running.statuses].sort(([a], [b]) => a - b)) })
      console.error(`${label}: ${phase.name}: create p50 ${result.create.p50.toFixed(1)} ms p95 ${result.create.p95.toFixed(1)} ms, read p50 ${result.read.p50.toFixed(1)} p95 ${result.read.p95.toFixed(1)}; flood ${JSON.stringify(results.at(-1)!.flood)}`)
      // Whatever the flood left running (imports) settles before the next phase.
      await sleep(2000)
    }
    return results
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
}

const ratio = (value: number, idle: number) => `×${(value / idle).toFixed(1)}`

function table (label: string, results: PhaseResult[]): string {
  const idle = results[0]!.probe
  const lines = [
    `**${label}**`,
    '',
    '| flood | create p50 / p95 ms | ÷ idle | read p50 / p95 ms | ÷ idle | probe failures | flood answers |',
    '|---|---|---|---|---|---|---|'
  ]
  for (const { name, probe: p, flood: statuses } of results) {
    lines.push(`| ${name} | ${p.create.p50.toFixed(0)} / ${p.create.p95.toFixed(0)} | ${ratio(p.create.p50, idle.create.p50)} / ${ratio(p.create.p95, idle.create.p95)} | ${p.read.p50.toFixed(0)} / ${p.read.p95.toFixed(0)} | ${ratio(p.read.p50, idle.read.p50)} / ${ratio(p.read.p95, idle.read.p95)} | ${p.failures} | ${Object.entries(statuses).map(([status, n]) => `${status === '0' ? 'error' : status}: ${n}`).join(', ') || '—'} |`)
  }
  return lines.join('\n')
}

const tables: string[] = []
if (!values['no-baseline']) {
  const baseline = checkoutOf(values.baseline)
  try {
    tables.push(table(`before (${values.baseline}, ${execFileSync('git', ['rev-parse', '--short', values.baseline], { cwd: here }).toString().trim()})`, await measure('before', baseline.dir)))
  } finally {
    baseline.remove()
  }
}
tables.push(table('after (this checkout)', await measure('after', here)))
console.log(tables.join('\n\n'))
