import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { createHttpClient, recordFunctionEnv, startBenchIssuer, startBenchStore, type HttpResult } from '../../../bench/lib/environment.ts'
import { buildAll, bundleEntries } from '../../../scripts/build.ts'
import { SCAN_LIMITS } from '../../../shared/imports/report-scanner.ts'
import { cgroupUnavailable, startLimited } from './memory-limit.ts'

/**
 * `npm run test:resilience`: the import-report bundle, started as its Knative Service starts it
 * (the Service's NODE_OPTIONS and MALLOC_ARENA_MAX) in a cgroup with the pod's memory limit
 * (256 Mi, no swap), takes every hostile report of the outside attack and stays alive: 1 M tiny
 * rules in 2.5 MB of gzip, one result holding a 20 M-element array in 40 KB of gzip, one 60 MB
 * message, 100 imports at once, 4 BOMs at once at the bounds on the components kept (last: the
 * heap they leave behind would be counted in the next case's peak). Each report's peak RSS is printed (SECURITY.md keeps them).
 */

const LIMIT = 256 * 1024 * 1024
const unavailable = cgroupUnavailable()
const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`

t.test('every hostile report leaves import-report alive under the pod\'s 256 Mi limit', { skip: unavailable ?? false }, async (t) => {
  const store = await startBenchStore(`hostile-${Date.now()}`)
  t.teardown(() => store.close())
  const issuer = await startBenchIssuer()
  t.teardown(() => issuer.close())
  const outdir = mkdtempSync(join(tmpdir(), 'import-report-bundle-'))
  t.teardown(() => rmSync(outdir, { recursive: true, force: true }))
  const [bundle] = await buildAll({ outdir, entries: bundleEntries().filter((entry) => entry.name === 'functions/import-report') })
  const port = 20_000 + (process.pid % 20_000)
  const env = recordFunctionEnv('import-report', store, issuer, port)
  t.match(env.NODE_OPTIONS, /--max-old-space-size=\d+/, `started with the Service's NODE_OPTIONS (${env.NODE_OPTIONS})`)
  const server = await startLimited(process.execPath, [bundle!.file], env, LIMIT)
  t.teardown(() => server.stop())
  const http = createHttpClient(`http://127.0.0.1:${port}`)
  t.teardown(() => http.close())
  for (let attempt = 0; ; attempt++) {
    const ready = await http.call('GET', '/healthz').catch(() => undefined)
    if (ready?.status === 200) break
    if (attempt > 300 || !server.alive()) throw new Error('import-report did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const post = async (body: string | Buffer, tenant = 'hostile', gzip = false): Promise<HttpResult> => http.call('POST', '/v1/imports?asset=shop&assetType=repository', {
    authorization: `Bearer ${await issuer.token(tenant)}`,
    'content-type': 'application/sarif+json',
    ...(gzip ? { 'content-encoding': 'gzip' } : {})
  }, body)
  const finished = async (answer: HttpResult, tenant = 'hostile') => {
    const { id } = JSON.parse(answer.body) as { id: string }
    for (;;) {
      const state = JSON.parse((await http.call('GET', `/v1/imports/${id}`, { authorization: `Bearer ${await issuer.token(tenant)}` })).body) as { status: string, counts: Record<string, number>, errors: Array<{ message: string }> }
      if (state.status === 'succeeded' || state.status === 'failed') return state
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  const peaks: Record<string, string> = {}
  const survives = async (name: string, attack: () => Promise<void>) => {
    server.resetPeaks()
    await attack()
    peaks[name] = `${MiB(server.peakRss())} RSS (cgroup ${MiB(server.peakCgroup())})`
    t.ok(server.alive(), `${name}: alive, peak ${peaks[name]}`)
    t.equal(server.oomKills(), 0, `${name}: nothing killed for memory`)
    t.equal((await http.call('GET', '/healthz')).status, 200, `${name}: still serving`)
  }
  const run = (members: string, results: string) => `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"${members}}},"results":${results}}]}`
  const result = (line: number, extra = '') => `{"ruleId":"r","message":{"text":"finding ${line}"}${extra},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.js"},"region":{"startLine":${line}}}}]}`

  await survives('1 M tiny rules, 2.5 MB gzip', async () => {
    const body = gzipSync(run(`,"rules":[${Array.from({ length: 1_000_000 }, (_, i) => `{"id":"${i}"}`).join(',')}]`, '[]'))
    const answer = await post(body, 'hostile', true)
    t.equal(answer.status, 413, answer.body.slice(0, 200))
  })

  await survives('one result holding a 20 M-element array, 40 KB gzip', async () => {
    const body = gzipSync(run('', `[${result(1, `,"properties":{"huge":[${'0,'.repeat(20_000_000)}0]}`)},${result(2)}]`))
    const answer = await post(body, 'hostile', true)
    t.ok([201, 202].includes(answer.status), answer.body.slice(0, 200))
    t.match(await finished(answer), { status: 'succeeded', counts: { results: 2, rejected: 1 } })
  })

  await survives('one 60 MB message', async () => {
    const answer = await post(run('', `[${result(1).replace('finding 1', 'x'.repeat(60 * 1024 * 1024))},${result(2)}]`))
    t.ok([201, 202].includes(answer.status), answer.body.slice(0, 200))
    t.match(await finished(answer), { status: 'succeeded', counts: { results: 2, rejected: 1 } })
  })

  await survives('100 imports at once (2 000 results each, 10 tenants)', async () => {
    const report = run('', `[${Array.from({ length: 2000 }, (_, line) => result(line + 1)).join(',')}]`)
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => post(report, `tenant-${i % 10}`).then((answer) => ({ answer, tenant: `tenant-${i % 10}` }))))
    const statuses = answers.map(({ answer }) => answer.status)
    t.ok(statuses.every((status) => [201, 202, 429, 503].includes(status)), `answers: ${[...new Set(statuses)].join(', ')}`)
    t.ok(answers.filter(({ answer }) => answer.status === 429 || answer.status === 503).every(({ answer }) => Number(answer.headers['retry-after']) > 0), 'every refusal says when to retry')
    const accepted = answers.filter(({ answer }) => answer.status === 202)
    t.ok(accepted.length > 0, `${accepted.length} accepted`)
    for (const { answer, tenant } of accepted) t.match(await finished(answer, tenant), { status: 'succeeded', counts: { results: 2000 } })
  })

  await survives('4 BOMs at once at the component bounds: 200 000 components each with random refs, 16 Mi characters kept of each', async () => {
    // Random refs compress worst (what the import holds of the components while a BOM streams in is
    // compressed): 63 random characters each, as many as the bound on kept characters allows.
    const refs = Array.from({ length: SCAN_LIMITS.streamedElements }, (_, i) => `r${i}-${randomBytes(47).toString('base64url')}`)
    const components = refs.map((ref) => `{"bom-ref":"${ref}","type":"library","name":"n${ref.slice(-6)}","hashes":[{"alg":"SHA-256","content":"${'a'.repeat(64)}"}]}`).join(',')
    const vulnerabilities = Array.from({ length: 1000 }, (_, i) => `{"id":"CVE-2024-${i + 1000}","ratings":[{"severity":"high"}],"affects":[{"ref":"${refs[i * 97]}"}]}`).join(',')
    const body = gzipSync(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[${components}],"vulnerabilities":[${vulnerabilities}]}`)
    const tenants = ['bom-a', 'bom-a', 'bom-b', 'bom-b']
    const answers = await Promise.all(tenants.map(async (tenant) => http.call('POST', '/v1/imports?asset=image&assetType=container_image', {
      authorization: `Bearer ${await issuer.token(tenant)}`,
      'content-type': 'application/vnd.cyclonedx+json',
      'content-encoding': 'gzip'
    }, body)))
    t.same(answers.map((answer) => answer.status), [202, 202, 202, 202], answers.map((answer) => answer.body.slice(0, 200)).join(' '))
    for (const [i, answer] of answers.entries()) if (answer.status === 202) t.match(await finished(answer, tenants[i]), { status: 'succeeded', counts: { results: 1000 } })
  })

  t.comment(`peak memory per hostile report under a ${MiB(LIMIT)} limit: ${JSON.stringify(peaks)}`)
})
