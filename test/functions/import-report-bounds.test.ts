import { gzipSync } from 'node:zlib'
import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import t, { type Test } from 'tap'
import { MAX_RESULTS, MAX_RUNS } from '../../shared/imports/receive-report.ts'
import { SCAN_LIMITS } from '../../shared/imports/report-scanner.ts'
import { MAX_RULES } from '../../shared/imports/sarif/run-context.ts'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { aReport, importReport, postReport, records } from '../support/imports-api.ts'

/**
 * What an import keeps of a report is bounded: each bound answers with a problem naming it (a
 * single result over its bounds is rejected by name, the rest of the report imported), and a
 * refused report leaves none of its stored parts behind.
 */

const run = (members: string, results = '[]') => `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"${members}}},"results":${results}}]}`

/** Every import part in the table (chunks and run contexts). */
async function storedParts (api: RecordsApiHarness): Promise<string[]> {
  const parts: string[] = []
  let start: Record<string, unknown> | undefined
  do {
    const page = await api.store.documents.send(new ScanCommand({ TableName: api.store.tableName, ExclusiveStartKey: start }))
    parts.push(...(page.Items ?? []).map((item) => String(item.sk)).filter((sk) => /^(CHUNK|RUNS)#/.test(sk)))
    start = page.LastEvaluatedKey
  } while (start)
  return parts
}

async function refused (t: Test, api: RecordsApiHarness, body: string | Buffer, status: number, detail: RegExp, headers?: Record<string, string>) {
  const response = await postReport(api, body, headers ? { headers } : {})
  t.equal(response.statusCode, status, response.body.slice(0, 300))
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  const problem = response.json()
  t.match(`${problem.detail} ${JSON.stringify(problem.errors ?? [])}`, detail)
  return problem
}

t.test('1 M tiny rules (2.5 MB gzip) are refused with a 413 naming the bound on what is kept, not parsed whole', async (t) => {
  const api = await buildRecordsApi(t)
  const rules = Array.from({ length: 1_000_000 }, (_, i) => `{"id":"${i}"}`).join(',')
  const body = gzipSync(run(`,"rules":[${rules}]`))
  t.ok(body.length < 4 * 1024 * 1024, `${body.length} bytes compressed`)
  await refused(t, api, body, 413, new RegExp(`more than ${SCAN_LIMITS.keptValues} JSON values`), { 'content-encoding': 'gzip' })
})

t.test(`a run with more than ${MAX_RULES} rules is a 422 naming the limit`, async (t) => {
  const api = await buildRecordsApi(t)
  const rules = Array.from({ length: MAX_RULES + 1 }, (_, i) => `{"id":"r${i}"}`).join(',')
  await refused(t, api, run(`,"rules":[${rules}]`), 422, new RegExp(`more than the ${MAX_RULES} a run may have`))
})

t.test('kept run members longer than the bound are a 413 naming it', async (t) => {
  const api = await buildRecordsApi(t)
  await refused(t, api, run(`,"fullName":"${'a'.repeat(SCAN_LIMITS.keptChars)}"`), 413, new RegExp(`more than ${SCAN_LIMITS.keptChars} characters`))
})

t.test(`a report of more than ${MAX_RUNS} runs is a 422 naming the limit, and leaves no stored part behind`, async (t) => {
  const api = await buildRecordsApi(t)
  const oneRun = '{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"r","message":{"text":"m"}}]}'
  await refused(t, api, `{"version":"2.1.0","runs":[${Array.from({ length: 20_000 }, () => oneRun).join(',')}]}`, 422, new RegExp(`more than ${MAX_RUNS} runs`))
  t.same(await storedParts(api), [], 'the chunks stored before the limit was reached are deleted')
})

t.test(`a report of more than ${MAX_RESULTS} results is a 422 and leaves none of its ${Math.ceil(MAX_RESULTS / 100)} stored chunks behind`, async (t) => {
  const api = await buildRecordsApi(t)
  const body = aReport(Array.from({ length: MAX_RESULTS + 1 }, (_, line) => ({ rule: 'r', line })))
  await refused(t, api, body, 422, new RegExp(`more than ${MAX_RESULTS} results`))
  t.same(await storedParts(api), [], 'no part remains')
})

t.test('a report refused at its end (a run without a tool) leaves no stored part behind', async (t) => {
  const api = await buildRecordsApi(t)
  const report = JSON.parse(aReport(Array.from({ length: 250 }, (_, line) => ({ rule: 'r', line }))))
  report.runs.push({ results: [] })
  await refused(t, api, JSON.stringify(report), 422, /tool\.driver\.name/)
  t.same(await storedParts(api), [])
})

t.test('one result holding a 20 M-element array (40 KB gzip) is rejected by name; the rest of the report is imported', async (t) => {
  const api = await buildRecordsApi(t)
  const report = JSON.parse(aReport([{ rule: 'r', line: 1 }, { rule: 'r', line: 2 }]))
  const text = JSON.stringify(report).replace('"partialFingerprints"', `"properties":{"huge":[${'0,'.repeat(20_000_000)}0]},"partialFingerprints"`)
  const body = gzipSync(text)
  t.ok(body.length < 100 * 1024, `${body.length} bytes compressed`)
  const done = await importReport(t, api, body, { headers: { 'content-encoding': 'gzip' } })
  t.equal(done.status, 'succeeded')
  t.match(done.counts, { results: 2, created: 1, rejected: 1 })
  t.match(done.errors, [{ path: '/runs/0/results/0', message: new RegExp(`too large to import: it holds more than ${SCAN_LIMITS.resultValues} JSON values`) }])
  t.equal((await records(api)).length, 1)
})

t.test('one result with a 60 MB message is rejected by name, not kept whole', async (t) => {
  const api = await buildRecordsApi(t)
  const text = aReport([{ rule: 'r', line: 1, message: 'x'.repeat(60 * 1024 * 1024) }, { rule: 'r', line: 2 }])
  const done = await importReport(t, api, gzipSync(text), { headers: { 'content-encoding': 'gzip' } })
  t.match(done.counts, { results: 2, created: 1, rejected: 1 })
  t.match(done.errors, [{ path: '/runs/0/results/0', message: new RegExp(`longer than ${SCAN_LIMITS.resultChars} characters`) }])
})

t.test('member names: too long, too many in one object, too many held open at once are 413s naming the bound', async (t) => {
  const api = await buildRecordsApi(t)
  await refused(t, api, run('', `[{"properties":{"${'k'.repeat(SCAN_LIMITS.nameChars + 1)}":1}}]`), 413, new RegExp(`member name longer than ${SCAN_LIMITS.nameChars}`))
  const members = Array.from({ length: SCAN_LIMITS.objectMembers + 1 }, (_, i) => `"m${i}":0`).join(',')
  await refused(t, api, run('', `[{"properties":{${members}}}]`), 413, new RegExp(`more than ${SCAN_LIMITS.objectMembers} members`))
  // 60 nested objects, each with 9 000 names of 10 characters: 5.4 M characters held open.
  const level = (i: number) => `{${Array.from({ length: 9000 }, (_, j) => `"${String(i).padStart(2, '0')}${String(j).padStart(8, '0')}":0`).join(',')},"next":`
  const nested = Array.from({ length: 60 }, (_, i) => level(i)).join('') + '0' + '}'.repeat(60)
  await refused(t, api, run('', `[{"properties":${nested}}]`), 413, new RegExp(`names of more than ${SCAN_LIMITS.openNameChars} characters`))
})

t.test('rules are found by id through a Map: a result names the rule far down the list', async (t) => {
  const api = await buildRecordsApi(t)
  const rules = Array.from({ length: 20_000 }, (_, i) => ({ id: `rule-${i}`, shortDescription: { text: `Rule ${i}` }, defaultConfiguration: { level: 'note' } }))
  const results = Array.from({ length: 300 }, (_, i) => ({ ruleId: `rule-${19_999 - i}`, message: { text: `m${i}` }, locations: [{ physicalLocation: { artifactLocation: { uri: 'a.js' }, region: { startLine: i + 1 } } }] }))
  const done = await importReport(t, api, JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x', rules } }, results }] }))
  t.match(done.counts, { results: 300, created: 300, rejected: 0 })
  const [first] = await records(api)
  t.equal(first?.severity, 'low', 'the rule\'s level was found')
})
