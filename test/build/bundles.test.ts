import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { functionNames } from '../../functions/registry.ts'
import { indexes } from '../../shared/store/keys.ts'
import { startEventSink } from '../support/event-sink.ts'
import { buildRecordsApi } from '../support/records-api.ts'
import { eventually, startTestStore } from '../support/store.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER } from '../support/tokens.ts'
import { captureOutput, freePort, waitUntilHealthy } from './processes.ts'

const MAX_BUNDLE_BYTES = 2 * 1024 * 1024
const root = new URL('../../', import.meta.url).pathname

// Bundles land outside the repository, so a bundle that still needed node_modules could not start.
const outdir = mkdtempSync(join(tmpdir(), 'security-records-dist-'))
t.teardown(() => rmSync(outdir, { recursive: true, force: true }))

const build = spawnSync(process.execPath, [join(root, 'scripts/build.ts'), '--outdir', outdir], { cwd: root, encoding: 'utf8' })
t.equal(build.status, 0, `npm run build succeeds\n${build.stderr}`)
t.comment(build.stdout.trim())


t.test('every function, the jobs and the dead-letter sink get one self-contained bundle under 2 MB', async (t) => {
  for (const name of [...functionNames.map((fn) => `functions/${fn}`), 'jobs/create-table', 'jobs/sweep-outbox', 'jobs/dead-letters']) {
    const file = join(outdir, name, 'index.mjs')
    t.ok(existsSync(file), `${name}/index.mjs exists`)
    if (!existsSync(file)) continue
    const bytes = statSync(file).size
    t.ok(bytes < MAX_BUNDLE_BYTES, `${name} is ${Math.round(bytes / 1024)} KiB`)
    t.same(readdirSync(join(outdir, name)), ['index.mjs'], `${name} is one file`)
  }
})

t.test('the compile cache the image ships covers every function bundle, is readable by its non-root user and is taken as it is', async (t) => {
  const cacheDir = join(outdir, 'compile-cache')
  const filled = spawnSync(process.execPath, [join(root, 'scripts/fill-compile-cache.ts'), outdir, cacheDir], { encoding: 'utf8' })
  t.equal(filled.status, 0, filled.stderr)
  t.match(filled.stdout, `compile cache for ${functionNames.length} bundles`)
  const [versionDir] = readdirSync(cacheDir)
  const entries = readdirSync(join(cacheDir, versionDir!))
  t.equal(entries.length, functionNames.length, 'one entry per function bundle')
  for (const entry of entries) t.equal(statSync(join(cacheDir, versionDir!, entry)).mode & 0o777, 0o644, `${entry} is readable by all`)

  // Loading a bundle as the image does: V8 accepts the cached code. (Whether Node then finds the
  // cache "the same" depends on which functions V8 happened to compile lazily by exit — a loaded
  // machine differs — and the image's cache folder is read-only anyway, so that is not asserted.)
  const bundle = join(outdir, 'functions/get-record/index.mjs')
  const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(bundle)})`], {
    encoding: 'utf8', env: { PATH: process.env.PATH, NODE_COMPILE_CACHE: cacheDir, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' }
  })
  t.equal(loaded.status, 0, loaded.stderr)
  t.match(loaded.stderr, `V8 code cache for ESM file://${bundle} was accepted`)
})

t.test('a function bundle loads neither node:http2 (nothing uses it) nor undici (an ESM import of node:http would)', async (t) => {
  for (const name of ['get-record', 'mock-auth']) {
    const bundle = join(outdir, 'functions', name, 'index.mjs')
    const loaded = spawnSync(process.execPath, ['--input-type=module', '-e',
      `await import(${JSON.stringify(bundle)}); console.log(JSON.stringify(process.moduleLoadList))`], { encoding: 'utf8', env: { PATH: process.env.PATH } })
    t.equal(loaded.status, 0, loaded.stderr)
    const modules = JSON.parse(loaded.stdout) as string[]
    t.ok(modules.includes('NativeModule http'), `${name} loads node:http`)
    t.notOk(modules.some((module) => /^NativeModule (http2|internal\/deps\/undici)/.test(module)), `${name} loads no http2 and no undici`)
  }
})

async function listen (server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('the get-record bundle starts with plain node, serves health and checks tokens', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const keys = await createTestKeys()
  const jwksServer = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(keys.jwks))
  })
  const jwksBase = await listen(jwksServer)
  t.teardown(() => new Promise((resolve) => jwksServer.close(resolve)))

  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const spawnedAt = performance.now()
  // At exit the process names the undici modules it loaded: the JWKS fetch of the first token must not load any.
  const reportUndici = `process.on('exit', () => process.stderr.write('UNDICI ' + JSON.stringify(process.moduleLoadList.filter((m) => m.includes('undici'))) + '\\n'))`
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(reportUndici)}`, join(outdir, 'functions/get-record/index.mjs')], {
    cwd: outdir,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      AUTH_ISSUER: TEST_ISSUER,
      AUTH_AUDIENCE: TEST_AUDIENCE,
      AUTH_JWKS_URL: `${jwksBase}/jwks`,
      CURSOR_SECRET: 'bundle-test-cursor-secret-0123456789',
      DYNAMODB_ENDPOINT: store.endpoint,
      TABLE_NAME: store.tableName
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output = captureOutput(child)
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  const readyMs = await waitUntilHealthy(`${base}/healthz`, child, output)
  t.comment(`get-record bundle healthy ${Math.round(readyMs)} ms after spawn (${Math.round(performance.now() - spawnedAt)} ms incl. first request)`)

  const health = await fetch(`${base}/healthz`)
  t.equal(health.status, 200)
  t.same(await health.json(), { status: 'ok' })

  const id = '0190b4a8-7e1c-7cc3-8a5e-2d3b4c5d6e7f'
  const anonymous = await fetch(`${base}/v1/records/${id}`)
  t.equal(anonymous.status, 401, 'no token is refused')
  t.match(anonymous.headers.get('content-type'), /^application\/problem\+json/)
  t.match(anonymous.headers.get('www-authenticate'), /^Bearer .*error="invalid_token"/)
  t.match(await anonymous.json(), { status: 401, instance: `/v1/records/${id}` })

  const token = await keys.sign()
  const unknown = await fetch(`${base}/v1/records/${id}`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(unknown.status, 404, 'a valid token reaches the store through the bundle: unknown id is 404')
  t.match(unknown.headers.get('content-type'), /^application\/problem\+json/)

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0, `SIGTERM drains and exits 0\n${output()}`)
  t.match(output(), 'UNDICI []', 'the JWKS was fetched over node:http: undici (global fetch) never loaded')
})

/** Runs a job bundle without blocking this process (the in-memory store lives here). */
async function runJob (env: Record<string, string>, job = 'create-table'): Promise<{ status: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [join(outdir, `jobs/${job}/index.mjs`)], { cwd: outdir, env: { PATH: process.env.PATH, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => { stdout += chunk })
  child.stderr.on('data', (chunk) => { stderr += chunk })
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve))
  return { status, stdout, stderr }
}

t.test('the create-table job bundle creates the table once and is idempotent', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const tableName = `job-${randomUUID()}`
  const env = { DYNAMODB_ENDPOINT: store.endpoint, TABLE_NAME: tableName, AWS_REGION: 'eu-central-1' }
  const first = await runJob(env)
  t.equal(first.status, 0, first.stderr)
  t.match(JSON.parse(first.stdout), { msg: 'table created', table: tableName, created: true })
  t.equal((await store.client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.GlobalSecondaryIndexes?.length, Object.keys(indexes).length, 'with every index of the data layer')
  const second = await runJob(env)
  t.equal(second.status, 0, second.stderr)
  t.match(JSON.parse(second.stdout), { msg: 'table already present', created: false })

  const invalid = await runJob({ TABLE_NAME: 'x' })
  t.equal(invalid.status, 1, 'bad configuration fails the Job')
  t.match(invalid.stderr, /invalid configuration: TABLE_NAME/)
})

t.test('the sweep-outbox job bundle delivers an event the sink refused, once, and exits 0', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  sink.respondWith(503)
  const created = await api.create()
  // The create's follow-up ran: history written, the refused event left in the outbox.
  await eventually(() => sink.attempts() === 1)
  sink.respondWith(202)
  const env = { DYNAMODB_ENDPOINT: api.store.endpoint, TABLE_NAME: api.store.tableName, AWS_REGION: 'eu-central-1', K_SINK: sink.url, SWEEP_MIN_AGE_SECONDS: '0' }
  const first = await runJob(env, 'sweep-outbox')
  t.equal(first.status, 0, first.stderr)
  t.match(JSON.parse(first.stdout), { msg: 'outbox swept', settled: 0, delivered: 1 })
  t.same(sink.received.map((event) => event.headers['ce-id']), [`${created.id}/1`], 'the owed event reached K_SINK')
  const second = await runJob(env, 'sweep-outbox')
  t.equal(second.status, 0, second.stderr)
  t.match(JSON.parse(second.stdout), { msg: 'outbox swept', settled: 0, delivered: 0 }, 'nothing left to deliver')
  t.equal(sink.received.length, 1)
})

t.test('the dead-letter sink bundle logs what the broker gave up on and always accepts it', async (t) => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [join(outdir, 'jobs/dead-letters/index.mjs')], {
    cwd: outdir, env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  const output = captureOutput(child)
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await waitUntilHealthy(`${base}/healthz`, child, output)

  const accepted = await fetch(`${base}/`, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': 'scan-42-1',
      'ce-source': '/scanners/trivy',
      'ce-type': 'com.mediamarktsaturn.security.finding.reported',
      'ce-tenant': 'acme',
      'ce-knativeerrorcode': '400',
      'ce-knativeerrordest': 'http://ingest-finding.security-records.svc.cluster.local',
      'ce-knativeerrordata': Buffer.from('{"status":400}').toString('base64'),
      'content-type': 'application/json'
    },
    body: JSON.stringify({ title: 'no fingerprint' })
  })
  t.equal(accepted.status, 202)
  t.equal((await fetch(`${base}/`)).status, 405, 'only POST delivers')
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM exits 0')
  const letter = output().split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((line) => line.msg === 'dead letter')
  t.match(letter, {
    level: 'warn',
    attributes: { id: 'scan-42-1', type: 'com.mediamarktsaturn.security.finding.reported', tenant: 'acme' },
    error: { code: '400', destination: 'http://ingest-finding.security-records.svc.cluster.local', response: '{"status":400}' },
    data: { title: 'no fingerprint' },
    truncated: false
  })
})
