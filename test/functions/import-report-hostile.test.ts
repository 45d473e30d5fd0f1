import { gzipSync } from 'node:zlib'
import t from 'tap'
import { buildRecordsApi } from '../support/records-api.ts'
import { aReport, fixture, importReport, postReport, records, SHOP, waitForImport } from '../support/imports-api.ts'

t.test('malformed reports are refused with problem+json naming what is wrong', async (t) => {
  const api = await buildRecordsApi(t)
  const cases: Array<{ name: string, body: string | Buffer, status: number, match: RegExp, headers?: Record<string, string> }> = [
    { name: 'not JSON', body: '{"version": "2.1.0", "runs": [', status: 400, match: /not valid JSON/ },
    { name: 'not SARIF', body: await fixture('not-sarif.json'), status: 422, match: /\/runs/ },
    { name: 'wrong version', body: await fixture('wrong-version.sarif'), status: 422, match: /\/version: must be "2\.1\.0"/ },
    { name: 'an array', body: '[]', status: 422, match: /JSON object/ },
    { name: 'a run without a tool', body: '{"version":"2.1.0","runs":[{"results":[]}]}', status: 422, match: /tool\.driver\.name/ },
    { name: 'no runs at all', body: '{"version":"2.1.0","runs":[]}', status: 422, match: /at least one run/ },
    { name: 'duplicate member names', body: '{"version":"2.1.0","version":"2.1.0","runs":[]}', status: 400, match: /duplicate member name "version"/ },
    { name: 'duplicate member names, one of them escaped', body: '{"version":"2.1.0","\\u0076ersion":"2.1.0","runs":[]}', status: 400, match: /duplicate member name "version"/ },
    { name: '__proto__ escaped', body: '{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"\\u005f_proto__":{"admin":true}}]}]}', status: 400, match: /__proto__/ },
    { name: 'a lone surrogate', body: '{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"\\ud800"}}}]}', status: 400, match: /surrogate/ },
    { name: 'a NUL character', body: '{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"a\\u0000"}}}]}', status: 400, match: /NUL/ },
    { name: '__proto__', body: '{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"__proto__":{"admin":true}}]}]}', status: 400, match: /__proto__/ },
    { name: '50 000-deep nesting', body: `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","properties":${'['.repeat(50_000)}${']'.repeat(50_000)}}}}]}`, status: 422, match: /nests deeper than 64 levels/ },
    { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}}]}')]), status: 400, match: /UTF-8/ },
    { name: 'bad gzip', body: 'not gzip at all', status: 400, match: /not valid gzip/, headers: { 'content-encoding': 'gzip' } },
    { name: 'another content coding', body: aReport([]), status: 415, match: /Content-Encoding br/, headers: { 'content-encoding': 'br' } },
    { name: 'another media type', body: aReport([]), status: 415, match: /./, headers: { 'content-type': 'text/xml' } },
    { name: 'another charset', body: aReport([]), status: 415, match: /charset/, headers: { 'content-type': 'application/json; charset=iso-8859-1' } }
  ]
  for (const { name, body, status, match, headers } of cases) {
    const response = await postReport(api, body, headers ? { headers } : {})
    t.equal(response.statusCode, status, `${name}: ${response.body.slice(0, 200)}`)
    t.match(response.headers['content-type'], /^application\/problem\+json/, name)
    t.match(response.json().detail, match, name)
  }
  t.same(await records(api), [], 'nothing was recorded')
})

t.test('a gzip bomb is refused when the report passes 64 MiB, long before 100 MB are inflated', async (t) => {
  const api = await buildRecordsApi(t)
  // In a member the import does not keep (the run's own property bag): only the report's size stops it.
  const bomb = gzipSync(Buffer.concat([Buffer.from('{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"properties":{"pad":"'), Buffer.alloc(100 * 1024 * 1024, 0x61), Buffer.from('"}}]}')]))
  t.ok(bomb.length < 1024 * 1024, `the bomb is ${bomb.length} bytes compressed`)
  const response = await postReport(api, bomb, { headers: { 'content-encoding': 'gzip' } })
  t.equal(response.statusCode, 413)
  t.match(response.json().detail, /larger than 64 MiB/)
})

t.test('gzip is accepted, and a larger report is queued (202) then processed in the background', async (t) => {
  const api = await buildRecordsApi(t)
  const report = aReport(Array.from({ length: 150 }, (_, line) => ({ rule: `r${line % 7}`, line })))
  const response = await postReport(api, gzipSync(report), { headers: { 'content-encoding': 'gzip' } })
  t.equal(response.statusCode, 202)
  t.match(response.json(), { status: 'queued', counts: { results: 150, created: 0 }, finishedAt: null })
  const done = await waitForImport(api, response.json().id)
  t.match(done.counts, { results: 150, created: 150, rejected: 0 })
  t.equal((await records(api)).length, 150)
})

t.test('report chunks stay within the store\'s item limit, whatever the size of the results', async (t) => {
  const api = await buildRecordsApi(t)
  // Large, barely compressible properties: a chunk of 100 results would be 600 KB.
  const noise = (seed: number) => Array.from({ length: 6000 }, (_, i) => ((seed * 7919 + i * 104729) % 36).toString(36)).join('')
  const report = JSON.parse(aReport(Array.from({ length: 120 }, (_, line) => ({ rule: 'big', line }))))
  for (const [i, result] of report.runs[0].results.entries()) result.properties = { noise: noise(i) }
  const done = await importReport(t, api, JSON.stringify(report))
  t.match(done.counts, { created: 120 })
  const putSizes = api.store.commands.filter((command) => command.name === 'PutCommand').map((command) => JSON.stringify(command.input).length)
  t.ok(Math.max(...putSizes) < 400 * 1024, `largest item written: ${Math.max(...putSizes)} bytes`)
})

t.test('a POST without a body or a Content-Type is a 400 naming the missing report, never a 500 (found by schemathesis after the format registry)', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'POST', url: `/v1/imports?${SHOP}`, headers: { authorization: await api.bearer() } })
  t.equal(response.statusCode, 400)
  t.match(response.json(), { status: 400, detail: /Send the report as the request body/ })
})
