/**
 * Micro-benchmark of the request body parser: the strict JSON parser
 * (shared/http/json-body.ts) against the one it replaced, Fastify's default JSON parser
 * (secure-json-parse, prototype poisoning refused), on the same texts, alternating in batches;
 * and a whole create (`POST /v1/records` through inject: token, parse, validation, store) with
 * either parser, alternating. `npm run bench` runs it as a section; alone it prints the ratios
 * and asserts nothing.
 *
 *   node bench/json-parse.ts [parses-per-batch] [batches] [creates-per-batch]
 */
import Fastify from 'fastify'
import type { FastifyPluginAsync } from 'fastify'
import dynalite from 'dynalite'
import type { AddressInfo } from 'node:net'
import { allRecordRoutes, aRecord } from '../test/support/records-api.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER } from '../test/support/tokens.ts'
import { buildApp, type RouteDeps } from '../shared/app.ts'
import { createTokenVerifier } from '../shared/auth/token-verifier.ts'
import { parseStrictJson } from '../shared/http/json-body.ts'
import { createStore } from '../shared/store/client.ts'
import { ensureTable } from '../shared/store/table.ts'

export interface ParserTiming {
  body: string
  bytes: number
  /** Median over batches of the mean µs per parse. */
  todayMicros: number
  strictMicros: number
  /** strict ÷ today. */
  ratio: number
}

export interface JsonParseResult {
  parse: ParserTiming[]
  /** A whole create, median ms per batch of creates, with either parser. */
  create: { todayMillis: number, strictMillis: number, ratio: number, batches: number, perBatch: number }
}

/** A create body as scanners send it, and the largest a record may be (the record's own limits). */
function bodies (): Array<{ name: string, text: string }> {
  const typical = JSON.stringify(aRecord({ description: 'The upstream tarball of xz 5.6.0 contains a backdoor. '.repeat(8), references: ['https://nvd.nist.gov/vuln/detail/CVE-2024-3094'], source: { tool: 'trivy', ruleId: 'CVE-2024-3094' } }))
  const largest = JSON.stringify(aRecord({
    description: 'd'.repeat(20_000),
    references: Array.from({ length: 50 }, (_, index) => `https://example.com/advisories/${index}/${'p'.repeat(1500)}`),
    tags: Array.from({ length: 20 }, (_, index) => `tag-${index}`),
    vulnerabilityIds: Array.from({ length: 50 }, (_, index) => `CVE-2024-${1000 + index}`),
    cweIds: Array.from({ length: 20 }, (_, index) => `CWE-${index + 1}`)
  }))
  const manyMembers = JSON.stringify({ items: Array.from({ length: 500 }, (_, index) => ({ name: `n${index}`, type: 'service', environment: 'production', escaped: 'say "hi" \\ \u00e9' })) })
  return [{ name: 'typical create (~1 KB)', text: typical }, { name: `largest record (~${Math.round(largest.length / 1024)} KB)`, text: largest }, { name: '500 small objects', text: manyMembers }]
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Alternates batches of two functions; returns the median µs per call of each. */
function alternate (perBatch: number, batches: number, a: () => unknown, b: () => unknown): [number, number] {
  const timesA: number[] = []
  const timesB: number[] = []
  const time = (fn: () => unknown) => {
    const started = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) fn()
    return Number(process.hrtime.bigint() - started) / 1000 / perBatch
  }
  time(a)
  time(b)
  for (let batch = 0; batch < batches; batch++) {
    if (batch % 2 === 0) { timesA.push(time(a)); timesB.push(time(b)) } else { timesB.push(time(b)); timesA.push(time(a)) }
  }
  return [median(timesA), median(timesB)]
}

export async function measureJsonParsing ({ perBatch = 2000, batches = 21, createsPerBatch = 50 } = {}): Promise<JsonParseResult> {
  // Today's parser exactly as Fastify builds it for `application/json` (what the functions used before).
  const fastify = Fastify()
  const todayParser = fastify.getDefaultJsonParser('error', 'error') as (request: unknown, body: string, done: (error: Error | null, value?: unknown) => void) => void
  const parseToday = (text: string) => todayParser(undefined, text, (error) => { if (error) throw error })
  await fastify.close()

  const parse: ParserTiming[] = []
  for (const { name, text } of bodies()) {
    const rounds = Math.max(10, Math.round(perBatch * 1000 / text.length))
    const [today, strict] = alternate(Math.min(perBatch, rounds), batches, () => parseToday(text), () => parseStrictJson(text))
    parse.push({ body: name, bytes: Buffer.byteLength(text), todayMicros: today, strictMicros: strict, ratio: strict / today })
  }
  return { parse, create: await measureCreates(createsPerBatch, batches) }
}

/** Whole creates through two apps over one in-process store: the strict parser, and Fastify's restored in the routes' scope. */
async function measureCreates (perBatch: number, batches: number): Promise<JsonParseResult['create']> {
  const server = dynalite({ createTableMs: 0 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const store = createStore({ DYNAMODB_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 5000, STORE_MAX_ATTEMPTS: 2, TABLE_NAME: 'bench-json' }, {})
  await ensureTable(store.client, store.tableName)
  const keys = await createTestKeys()
  const verifyToken = createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: keys.keySet, clockToleranceSeconds: 30 })
  const todayRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))
    await app.register(allRecordRoutes, deps)
  }
  const build = (routes: FastifyPluginAsync<RouteDeps>) => buildApp({ config: { CURSOR_SECRET: 'bench-cursor-secret-0123456789-abcdefgh', LOG_LEVEL: 'silent' }, store, verifyToken, routes, logger: false })
  const apps = { today: await build(todayRoutes), strict: await build(allRecordRoutes) }
  const authorization = `Bearer ${await keys.sign({ tenant: 'bench-json' })}`
  const body = bodies()[0]!.text
  const createBatch = async (app: typeof apps.today) => {
    const started = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) {
      const response = await app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'content-type': 'application/json' }, payload: body })
      if (response.statusCode !== 201) throw new Error(`create: ${response.statusCode} ${response.body}`)
    }
    return Number(process.hrtime.bigint() - started) / 1e6 / perBatch
  }
  try {
    await createBatch(apps.today)
    await createBatch(apps.strict)
    const today: number[] = []
    const strict: number[] = []
    for (let batch = 0; batch < batches; batch++) {
      if (batch % 2 === 0) { today.push(await createBatch(apps.today)); strict.push(await createBatch(apps.strict)) } else { strict.push(await createBatch(apps.strict)); today.push(await createBatch(apps.today)) }
    }
    return { todayMillis: median(today), strictMillis: median(strict), ratio: median(strict) / median(today), batches, perBatch }
  } finally {
    await apps.today.close()
    await apps.strict.close()
    store.client.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

if (import.meta.main) {
  const perBatch = Number(process.argv[2] ?? 2000)
  const batches = Number(process.argv[3] ?? 21)
  const createsPerBatch = Number(process.argv[4] ?? 50)
  console.log(`node ${process.version}, ${batches} alternating batches`)
  const result = await measureJsonParsing({ perBatch, batches, createsPerBatch })
  for (const entry of result.parse) {
    console.log(`${entry.body.padEnd(28)} ${String(entry.bytes).padStart(7)} B   today ${entry.todayMicros.toFixed(2).padStart(8)} µs   strict ${entry.strictMicros.toFixed(2).padStart(8)} µs   ratio ${entry.ratio.toFixed(2)}`)
  }
  const { create } = result
  console.log(`whole create (${create.batches} × ${create.perBatch}, inject + dynalite)  today ${create.todayMillis.toFixed(3)} ms   strict ${create.strictMillis.toFixed(3)} ms   ratio ${create.ratio.toFixed(3)}`)
}
