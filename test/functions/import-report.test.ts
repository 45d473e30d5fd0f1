import t from 'tap'
import { buildRecordsApi } from '../support/records-api.ts'
import { startEventSink } from '../support/event-sink.ts'
import { aReport, byRule, fixture, history, importReport, patch, postReport, records, SHOP, type ImportBody } from '../support/imports-api.ts'

t.test('a report with GitHub conventions becomes one record per result, mapped as documented', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  const response = await postReport(api, await fixture('github-conventions.sarif'))
  t.equal(response.statusCode, 201, 'a small report is applied before the answer')
  const done = response.json() as ImportBody
  t.equal(response.headers.location, `/v1/imports/${done.id}`)
  t.match(done, {
    status: 'succeeded',
    tool: { name: 'CodeQL', version: '2.20.1' },
    scope: { tool: 'CodeQL', category: '/language:javascript', asset: 'shop' },
    scopes: [{ tool: 'CodeQL', category: '/language:javascript' }, { tool: 'Trivy', category: 'container' }],
    counts: { results: 7, created: 5, updated: 0, unchanged: 0, resolved: 0, reopened: 0, rejected: 0, skipped: 2 },
    errors: [],
    createdBy: 'client:test-writer'
  })
  t.type(done.finishedAt, 'string')

  const items = await records(api)
  t.equal(items.length, 5)
  const [sql] = byRule(items, 'js/sql-injection')
  t.match(sql, {
    title: 'This query depends on a [user-provided value](1).',
    severity: 'high',
    category: 'vulnerability',
    status: 'open',
    cweIds: ['CWE-89', 'CWE-90'],
    references: ['https://codeql.github.com/codeql-query-help/javascript/js-sql-injection/'],
    source: { tool: 'CodeQL', ruleId: 'js/sql-injection', scanId: done.id },
    asset: { name: 'shop', type: 'repository', environment: 'production' },
    fingerprint: /^sarif:/
  })
  t.match(sql!.description, /\*\*Location:\*\* `src\/orders\.js:42`/, 'the location is relative to its uriBaseId')
  t.notMatch(sql!.description, /home\/runner/, 'the base\'s absolute path (per machine) is left out')
  t.equal(byRule(items, 'js/xss')[0]!.severity, 'critical', 'security-severity 9.6 is critical')
  t.match(byRule(items, 'js/weak-crypto')[0], { severity: 'medium', cweIds: ['CWE-327'], status: 'not_affected', statusReason: 'Suppressed in the scanner report (inSource): only used for cache keys' })
  t.equal(byRule(items, 'js/log-injection')[0]!.severity, 'low', 'level note without security-severity is low')
  t.match(byRule(items, 'CVE-2024-3094')[0], { severity: 'critical', vulnerabilityIds: ['CVE-2024-3094'], source: { tool: 'Trivy' } })
  t.equal(byRule(items, 'CVE-2024-3094').length, 1, 'the result with baselineState absent made no record')

  const [entry] = await history(api, sql!.id)
  t.match(entry, { version: 1, action: 'created', requestId: `${done.id}:0:0` }, 'history names the import and the result')
  t.equal(sink.received.length, 5, 'one created event per record')
  t.same(await api.data.outbox.due(new Date(Date.now() + 60_000)), [], 'nothing owed: every history entry written, every event delivered, the import finished')
})

t.test('re-importing the same report changes nothing: no new version, no history, no event', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  const report = await fixture('github-conventions.sarif')
  await importReport(t, api, report)
  const before = await records(api)
  const again = await importReport(t, api, report)
  t.match(again.counts, { results: 7, created: 0, updated: 0, unchanged: 5, resolved: 0, reopened: 0, skipped: 2 })
  t.same(await records(api), before, 'every record exactly as it was')
  t.equal(sink.received.length, 5, 'no event beyond the first import\'s')
})

t.test('a result that moved lines keeps its record (partialFingerprints); a changed message updates it', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport([{ rule: 'r1', line: 10 }]))
  const [first] = await records(api)
  const moved = JSON.parse(aReport([{ rule: 'r1', line: 10, message: 'r1, now at line 14' }]))
  moved.runs[0].results[0].locations[0].physicalLocation.region.startLine = 14
  const done = await importReport(t, api, JSON.stringify(moved))
  t.match(done.counts, { created: 0, updated: 1 })
  const [after] = await records(api)
  t.equal(after!.id, first!.id)
  t.match(after, { version: 2, title: 'r1, now at line 14', source: { scanId: done.id } })
})

t.test('a fingerprint a report repeats is a record per repeat, told apart by order, also in the next chunk and with the chunk read ahead', async (t) => {
  const api = await buildRecordsApi(t)
  const fillers = Array.from({ length: 99 }, (_, line) => ({ rule: 'filler', line }))
  await importReport(t, api, aReport([{ rule: 'r1', line: 10, message: 'first wording' }, ...fillers]))
  // Chunk 1 (100 results) rewords r1; chunk 2, read while chunk 1 is applied, has the first wording
  // again. Record writes are slowed down so that read ahead surely sees r1 before its rewording.
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'PutItemCommand') await new Promise((resolve) => setTimeout(resolve, 300))
    return next(args)
  }, { step: 'initialize', name: 'slowPuts' })
  const report = aReport([...fillers, { rule: 'r1', line: 10, message: 'second wording' }, { rule: 'r1', line: 10, message: 'first wording' }])
  const done = await importReport(t, api, report)
  t.match(done.counts, { results: 101, created: 1, updated: 1, unchanged: 99 })
  const repeated = byRule(await records(api), 'r1')
  t.same(repeated.map((record) => [record.title, record.version]).sort(), [['first wording', 1], ['second wording', 2]], 'the first keeps its record (reworded), the repeat has its own')
  t.match((await importReport(t, api, report)).counts, { created: 0, updated: 0, unchanged: 101 }, 'the same report again writes nothing')
})

t.test('a record the scope no longer reports is resolved naming the import; when it comes back it is reopened', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport([{ rule: 'r1', line: 1 }, { rule: 'r2', line: 2 }]))
  const second = await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]))
  t.match(second.counts, { unchanged: 1, resolved: 1 })
  const [gone] = byRule(await records(api), 'r2')
  t.match(gone, { status: 'resolved', version: 2 })
  t.match(gone!.statusReason, new RegExp(`^Not reported by import ${second.id} \\(ExampleScanner, asset shop\\)`))

  const third = await importReport(t, api, aReport([{ rule: 'r1', line: 1 }, { rule: 'r2', line: 2 }]))
  t.match(third.counts, { unchanged: 1, reopened: 1, resolved: 0, created: 0 })
  const [back] = byRule(await records(api), 'r2')
  t.match(back, { id: gone!.id, status: 'open', version: 3 })
  t.notOk(back!.statusReason, 'the resolution reason goes with the resolution')
  t.same((await history(api, back!.id)).map((entry) => entry.action), ['updated', 'updated', 'created'])
})

t.test('a clean scan (a run with no results) resolves the scope; a run whose results were not computed resolves nothing', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]))
  const notComputed = await importReport(t, api, JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'ExampleScanner' } } }] }))
  t.match(notComputed.counts, { results: 0, resolved: 0 })
  t.equal((await records(api))[0]!.status, 'open')
  const clean = await importReport(t, api, JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'ExampleScanner' } }, results: [] }] }))
  t.match(clean.counts, { results: 0, resolved: 1 })
  t.equal((await records(api))[0]!.status, 'resolved')
})

t.test('scopes are separate: another tool, category or asset never resolves this one\'s records', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]))
  const otherTool = await importReport(t, api, aReport([], 'OtherScanner'))
  const otherCategory = await importReport(t, api, aReport([]), { query: `${SHOP}&category=nightly` })
  const otherAsset = await importReport(t, api, aReport([]), { query: 'asset=billing&assetType=repository' })
  for (const done of [otherTool, otherCategory, otherAsset]) t.equal(done.counts.resolved, 0)
  t.equal((await records(api))[0]!.status, 'open')
  const sameScope = await importReport(t, api, aReport([]))
  t.equal(sameScope.counts.resolved, 1)
})

t.test('a person\'s decisions are never overridden by an import', async (t) => {
  const api = await buildRecordsApi(t)
  const rules = ['fp', 'na', 'manual', 'accepted', 'triaged']
  await importReport(t, api, aReport(rules.map((rule, line) => ({ rule, line }))))
  const items = await records(api)
  const one = (rule: string) => byRule(items, rule)[0]!
  await patch(api, one('fp'), { status: 'false_positive', statusReason: 'test code' })
  await patch(api, one('na'), { status: 'not_affected', statusReason: 'not reachable' })
  await patch(api, one('manual'), { status: 'resolved', statusReason: 'fixed by hand' })
  await patch(api, one('accepted'), { status: 'accepted_risk', statusReason: 'legacy', riskAcceptance: { expiresAt: new Date(Date.now() + 86_400_000).toISOString(), approvedBy: 'ciso' } })
  await patch(api, one('triaged'), { status: 'triaged' })

  const missing = await importReport(t, api, aReport([]))
  t.equal(missing.counts.resolved, 1, 'only the triaged record is resolved')
  const back = await importReport(t, api, aReport(rules.map((rule, line) => ({ rule, line }))))
  t.match(back.counts, { reopened: 1, unchanged: 4 }, 'only the import-resolved record reopens')
  const statuses = Object.fromEntries((await records(api)).map((record) => [record.source!.ruleId, record.status]))
  t.same(statuses, { fp: 'false_positive', na: 'not_affected', manual: 'resolved', accepted: 'accepted_risk', triaged: 'open' })
})

t.test('an import is its tenant\'s: another tenant gets 404, and its records are never touched', async (t) => {
  const api = await buildRecordsApi(t)
  const done = await importReport(t, api, aReport([{ rule: 'r1', line: 1 }]))
  const other = await api.app.inject({ method: 'GET', url: `/v1/imports/${done.id}`, headers: { authorization: await api.bearer({ tenant: 'globex' }) } })
  t.equal(other.statusCode, 404)
  t.match(other.headers['content-type'], /^application\/problem\+json/)
  const theirs = await importReport(t, api, aReport([]), { claims: { tenant: 'globex' } })
  t.equal(theirs.counts.resolved, 0)
  t.equal((await records(api))[0]!.status, 'open')
})

t.test('scopes: import needs records:write, reading one records:read', async (t) => {
  const api = await buildRecordsApi(t)
  const refused = await postReport(api, aReport([]), { claims: { scope: 'records:read' } })
  t.equal(refused.statusCode, 403)
  const done = await importReport(t, api, aReport([]))
  const read = await api.app.inject({ method: 'GET', url: `/v1/imports/${done.id}`, headers: { authorization: await api.bearer({ scope: 'records:read' }) } })
  t.equal(read.statusCode, 200)
  const anonymous = await api.app.inject({ method: 'GET', url: `/v1/imports/${done.id}` })
  t.equal(anonymous.statusCode, 401)
})

t.test('reports from real scanners import with their tools\' own conventions', async (t) => {
  const api = await buildRecordsApi(t)
  const cases = [
    { file: 'semgrep-1.185.0.sarif', tool: 'Semgrep OSS', created: 3, cwe: 'CWE-78', rule: 'python-subprocess-shell-true', severity: 'high' },
    { file: 'bandit-1.9.4.sarif', tool: 'Bandit', created: 6, rule: 'B602', severity: 'high' },
    { file: 'flawfinder-2.0.19.sarif', tool: 'Flawfinder', created: 3, cwe: 'CWE-120', rule: 'FF1013', severity: 'low' },
    { file: 'eslint-10.15.0.sarif', tool: 'ESLint', created: 2, rule: 'no-eval', severity: 'high' }
  ]
  for (const scanner of cases) {
    const done = await importReport(t, api, await fixture(scanner.file), { query: `asset=${scanner.tool.replace(/\W/g, '-').toLowerCase()}&assetType=repository` })
    t.match(done, { status: 'succeeded', tool: { name: scanner.tool }, counts: { created: scanner.created, rejected: 0 } }, scanner.file)
    const items = await records(api, scanner.tool.replace(/\W/g, '-').toLowerCase())
    t.equal(items.length, scanner.created, `${scanner.file}: one record per result`)
    const [sample] = byRule(items, scanner.rule)
    t.match(sample, { severity: scanner.severity, source: { tool: scanner.tool } }, `${scanner.file}: ${scanner.rule}`)
    if (scanner.cwe) t.ok(sample!.cweIds?.includes(scanner.cwe), `${scanner.file}: ${scanner.cwe}`)
  }
})

t.test('results without locations are told apart by their message; one without a rule is rejected by path, and its scope resolves nothing', async (t) => {
  const api = await buildRecordsApi(t)
  const done = await importReport(t, api, await fixture('results-without-locations.sarif'))
  t.match(done.counts, { results: 3, created: 2, rejected: 1 })
  t.same(done.errors, [
    { path: '/runs/0/results/2', message: 'the result names no rule (ruleId, rule.id or ruleIndex)' },
    { path: '', message: 'records of PolicyCheck were not resolved: 1 of its results could not be identified (see the errors before)' }
  ])
})
