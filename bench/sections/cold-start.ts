import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { generateSigningKey } from '../../functions/mock-auth/signing-keys.ts'
import { benchFile, createHttpClient, mockAuthEnv, recordFunctionEnv, type BenchIssuer, type BenchStore, type HttpClient } from '../lib/environment.ts'
import { freePort, peakRssMB, startChild, waitForOk } from '../lib/processes.ts'
import { median } from '../lib/stats.ts'

export interface ColdStartResult {
  name: string
  /** Bundle size in bytes (none for the bare server). */
  bytes?: number
  /** Spawn to first 200 on /healthz, ms: each run, and their median. */
  runs: number[]
  medianMs: number
  /** VmHWM after the first /healthz, MB (median over runs). */
  rssAfterHealthMB: number
  /** VmHWM after the first real API request (token check, validation, store), MB. */
  rssAfterFirstRequestMB?: number
  /** Latency of that first real request, ms (JWKS fetch, first compile of the hot path). */
  firstRequestMs?: number
  /** The same bundle started without the image's compile cache (plain `node <bundle>`): what the cache saves. */
  withoutCompileCache?: { runs: number[], medianMs: number, rssAfterHealthMB: number }
}

const UNKNOWN_ID = '0190b4a8-7e1c-7cc3-8a5e-2d3b4c5d6e7f'

interface Target {
  name: string
  file: string
  env (port: number): Record<string, string | undefined>
  /** One real request after health; must answer `status`. */
  first?: { status: number, send (client: HttpClient, token: string): ReturnType<HttpClient['call']> }
}

/**
 * Cold start of every function bundle against a bare node:http server: spawn to the first
 * successful /healthz (a store round trip for the functions), then peak RSS. Each bundle starts
 * as the image starts it: `node <bundle>` with NODE_COMPILE_CACHE pointing at a cache filled by
 * scripts/fill-compile-cache.ts (the image's compile-cache stage runs the same script); and,
 * alternating, without that cache.
 */
export async function measureColdStarts (options: { bundles: string, store: BenchStore, issuer: BenchIssuer, runs: number, log: (line: string) => void }): Promise<ColdStartResult[]> {
  const { bundles, store, issuer, runs } = options
  const signingKeysJson = JSON.stringify({ keys: [await generateSigningKey()] })
  const token = await issuer.token()
  const auth = { authorization: `Bearer ${token}` }
  const json = { ...auth, 'content-type': 'application/json' }
  const bundle = (name: string) => `${bundles}/functions/${name}/index.mjs`
  const recordEnv = (name: string) => (port: number) => ({ ...recordFunctionEnv(name, store, issuer, port), RATE_LIMIT: 'off' })
  const targets: Target[] = [
    { name: 'bare node:http', file: benchFile('baselines/bare-http.mjs'), env: (port) => ({ PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1' }) },
    { name: 'create-record', file: bundle('create-record'), env: recordEnv('create-record'), first: { status: 201, send: (c) => c.call('POST', '/v1/records', json, JSON.stringify({ title: 'cold start', category: 'other', severity: 'low', asset: { name: 'bench', type: 'service' } })) } },
    { name: 'get-record', file: bundle('get-record'), env: recordEnv('get-record'), first: { status: 404, send: (c) => c.call('GET', `/v1/records/${UNKNOWN_ID}`, auth) } },
    { name: 'list-records', file: bundle('list-records'), env: recordEnv('list-records'), first: { status: 200, send: (c) => c.call('GET', '/v1/records?status=open', auth) } },
    { name: 'update-record', file: bundle('update-record'), env: recordEnv('update-record'), first: { status: 404, send: (c) => c.call('PATCH', `/v1/records/${UNKNOWN_ID}`, { ...json, 'if-match': '"1"' }, '{"assignee":"x"}') } },
    { name: 'delete-record', file: bundle('delete-record'), env: recordEnv('delete-record'), first: { status: 404, send: (c) => c.call('DELETE', `/v1/records/${UNKNOWN_ID}`, auth) } },
    {
      name: 'mock-auth',
      file: bundle('mock-auth'),
      env: (port) => mockAuthEnv(store, port, signingKeysJson),
      first: { status: 200, send: (c) => c.call('POST', '/oauth2/token', { authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials') }
    },
    {
      name: 'console',
      file: bundle('console'),
      // The signed-out page: the console's first answer needs no token and no store.
      env: (port) => ({
        PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn',
        CONSOLE_ORIGIN: `http://127.0.0.1:${port}`, CONSOLE_API_URL: issuer.issuer, CONSOLE_AUTH_ISSUER: issuer.issuer,
        CONSOLE_CLIENT_SECRET: 'bench-console-secret', CONSOLE_COOKIE_KEY: 'YmVuY2gtY29uc29sZS1jb29raWUta2V5LTMyLWJ5dGU'
      }),
      first: { status: 200, send: (c) => c.call('GET', '/console', {}) }
    },
    {
      name: 'ingest-finding',
      file: bundle('ingest-finding'),
      // A record function's settings (it ignores the cursor key); no K_SINK, so the finding is applied at once.
      env: recordEnv('ingest-finding'),
      first: {
        status: 200,
        send: (c) => c.call('POST', '/v1/findings', json, JSON.stringify({ title: 'ingested', category: 'other', severity: 'low', asset: { name: 'bench', type: 'service' }, fingerprint: `bench-${Date.now()}` }))
      }
    }
  ]

  const results: ColdStartResult[] = []
  const cacheDir = mkdtempSync(join(tmpdir(), 'security-records-bench-compile-cache-'))
  const filled = spawnSync(process.execPath, [benchFile('../scripts/fill-compile-cache.ts'), bundles, cacheDir], { encoding: 'utf8' })
  if (filled.status !== 0) throw new Error(`filling the compile cache failed: ${filled.stderr}`)
  const asImage = (target: Target) => (port: number) => ({ ...target.env(port), NODE_COMPILE_CACHE: cacheDir })
  // Round-robin over the targets, so a burst of load elsewhere on the machine hits all alike.
  const perTarget = new Map<string, { runs: number[], rss: number[], rssFirst: number[], firstMs: number[], uncached: number[], uncachedRss: number[] }>()
  for (let run = 0; run < runs; run++) {
    for (const target of targets) {
      const entry = perTarget.get(target.name) ?? { runs: [], rss: [], rssFirst: [], firstMs: [], uncached: [], uncachedRss: [] }
      perTarget.set(target.name, entry)
      if (target.first) {
        const uncached = await startOnce(target.file, target.env)
        entry.uncached.push(uncached.ms)
        entry.uncachedRss.push(uncached.rss)
      }
      const port = await freePort()
      const spawnedAt = performance.now()
      const child = startChild(target.file, [], target.first ? asImage(target)(port) : target.env(port))
      try {
        const ms = await waitForOk(`http://127.0.0.1:${port}/healthz`, child, spawnedAt)
        entry.runs.push(ms)
        entry.rss.push(peakRssMB(child.process.pid!))
        if (target.first) {
          const client = createHttpClient(`http://127.0.0.1:${port}`)
          const started = performance.now()
          const response = await target.first.send(client, token)
          entry.firstMs.push(performance.now() - started)
          client.close()
          if (response.status !== target.first.status) throw new Error(`${target.name}: first request answered ${response.status}, expected ${target.first.status}: ${response.body.slice(0, 300)}`)
          entry.rssFirst.push(peakRssMB(child.process.pid!))
        }
      } finally {
        await child.stop()
      }
    }
    options.log(`cold start: round ${run + 1}/${runs} done`)
  }
  for (const target of targets) {
    const entry = perTarget.get(target.name)!
    results.push({
      name: target.name,
      ...(target.name === 'bare node:http' ? {} : { bytes: statSync(target.file).size }),
      runs: entry.runs,
      medianMs: median(entry.runs),
      rssAfterHealthMB: median(entry.rss),
      ...(entry.rssFirst.length > 0 ? { rssAfterFirstRequestMB: median(entry.rssFirst), firstRequestMs: median(entry.firstMs) } : {}),
      ...(entry.uncached.length > 0 ? { withoutCompileCache: { runs: entry.uncached, medianMs: median(entry.uncached), rssAfterHealthMB: median(entry.uncachedRss) } } : {})
    })
  }
  rmSync(cacheDir, { recursive: true, force: true })
  return results
}

/** Spawn to first 200 on /healthz, and the peak RSS then; the process is stopped again. */
async function startOnce (file: string, env: (port: number) => Record<string, string | undefined>): Promise<{ ms: number, rss: number }> {
  const port = await freePort()
  const spawnedAt = performance.now()
  const child = startChild(file, [], env(port))
  try {
    const ms = await waitForOk(`http://127.0.0.1:${port}/healthz`, child, spawnedAt)
    return { ms, rss: peakRssMB(child.process.pid!) }
  } finally {
    await child.stop()
  }
}
