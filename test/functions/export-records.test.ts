import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { importReport, patch, records, fixture } from '../support/imports-api.ts'
import { csvCell } from '../../shared/exports/csv.ts'

const IMAGE = 'asset=shop-image&assetType=container_image&environment=production'
const bom = () => readFile(new URL('../fixtures/cyclonedx/trivy-shaped-1.6.bom.json', import.meta.url), 'utf8')

async function list (api: RecordsApiHarness, accept: string | undefined, query = '', claims?: Record<string, unknown>) {
  return api.app.inject({ method: 'GET', url: `/v1/records${query}`, headers: { authorization: await api.bearer(claims), ...(accept === undefined ? {} : { accept }) } })
}

/** A tenant with the BOM's four records, three of them decided. */
async function decided (t: Test, api: RecordsApiHarness) {
  await importReport(t, api, await bom(), { query: IMAGE, headers: { 'content-type': 'application/vnd.cyclonedx+json' } })
  const items = await records(api, 'shop-image')
  const lodash = items.find((record) => record.source?.ruleId === 'CVE-2021-23337')!
  await patch(api, lodash, { status: 'false_positive', statusReason: 'not the lodash we ship' })
  const minimist = items.find((record) => record.component?.name === 'minimist')!
  await patch(api, minimist, { status: 'triaged' })
  return items
}

t.test('CSV: RFC 4180 with a header row; a cell a spreadsheet would run as a formula is neutralised', async (t) => {
  t.equal(csvCell('=HYPERLINK("http://evil")'), '"\'=HYPERLINK(""http://evil"")"')
  for (const start of ['+', '-', '@', '\t', '\r']) t.equal(csvCell(`${start}1`).replace(/^"|"$/g, '')[0], '\'', `a cell starting with ${JSON.stringify(start)} is prefixed`)
  t.equal(csvCell('a,b'), '"a,b"')
  t.equal(csvCell('line\nbreak'), '"line\nbreak"')
  t.equal(csvCell(7.5), '7.5')
  t.equal(csvCell(undefined), '')

  const api = await buildRecordsApi(t)
  await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer(), 'content-type': 'application/json' }, payload: { title: '=cmd|\' /C calc\'!A0', category: 'other', severity: 'low', asset: { name: '@shop', type: 'service' }, tags: ['a', 'b'] } })
  const response = await list(api, 'text/csv')
  t.equal(response.statusCode, 200, response.body)
  t.equal(response.headers['content-type'], 'text/csv; charset=utf-8; header=present')
  t.match(response.headers.vary, /Accept/)
  const lines = response.body.split('\r\n')
  t.equal(lines.length, 3, 'a header, one row, the final CRLF')
  t.match(lines[0], /^id,title,severity,status,/)
  t.match(lines[1], /,'=cmd\|' \/C calc'!A0,low,open,,other,'@shop,service,/)
  t.match(lines[1], /,a b,/)
})

t.test('exports walk the whole filter, page after page, with the list\'s filters', async (t) => {
  const api = await buildRecordsApi(t)
  for (let i = 0; i < 130; i++) {
    await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer(), 'content-type': 'application/json' }, payload: { title: `finding ${i}`, category: 'other', severity: i % 2 ? 'low' : 'high', asset: { name: 'shop', type: 'service' } } })
  }
  const all = await list(api, 'text/csv', '?limit=5')
  t.equal(all.body.split('\r\n').length - 2, 130, 'every record, limit aside')
  const high = await list(api, 'text/csv', '?severity=high')
  t.equal(high.body.split('\r\n').length - 2, 65)
  const badCursor = await list(api, 'text/csv', '?cursor=abc')
  t.equal(badCursor.statusCode, 400, 'the cursor rules hold')
  const other = await list(api, 'text/csv', '', { tenant: 'other', sub: 'client:other' })
  t.equal(other.body.split('\r\n').length - 2, 0, 'another tenant sees none of them')
})

t.test('content negotiation: JSON by default and for */*, 406 problem+json for what is not served', async (t) => {
  const api = await buildRecordsApi(t)
  t.match((await list(api, undefined)).json(), { items: [] })
  t.match((await list(api, '*/*')).headers['content-type'], /^application\/json/)
  t.match((await list(api, 'text/csv;q=0.5, application/vnd.cyclonedx+json')).headers['content-type'], /^application\/vnd\.cyclonedx\+json/)
  const noStatements = await list(api, 'text/csv;q=0.5, application/openvex+json')
  t.equal(noStatements.statusCode, 404, 'OpenVEX chosen, and nothing to state: no document rather than an invalid one')
  t.match(noStatements.json(), { type: /no-vex-statements$/ })
  const refused = await list(api, 'application/xml')
  t.equal(refused.statusCode, 406)
  t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(refused.json(), { status: 406, detail: /text\/csv/ })
})

t.test('OpenVEX and CycloneDX VEX export the decisions; SARIF the open code findings', async (t) => {
  const api = await buildRecordsApi(t)
  await decided(t, api)
  const openvex = await list(api, 'application/openvex+json')
  t.equal(openvex.statusCode, 200)
  const vex = openvex.json()
  t.match(vex, { '@context': 'https://openvex.dev/ns/v0.2.0', '@id': /^urn:uuid:/, author: 'security-records tenant acme', version: 1 })
  t.equal(vex.statements.length, 3, 'the false positive, the triaged one and the suppressed one; open records are no decision')
  t.match(vex.statements.find((statement: { vulnerability: { name: string } }) => statement.vulnerability.name === 'CVE-2021-23337'), {
    vulnerability: { name: 'CVE-2021-23337', aliases: ['GHSA-35jh-r3h4-6jhm'] },
    products: [{ '@id': 'pkg:npm/lodash@4.17.20' }],
    status: 'not_affected',
    impact_statement: 'False positive: not the lodash we ship'
  })
  const cyclonedx = (await list(api, 'application/vnd.cyclonedx+json')).json()
  t.match(cyclonedx, { bomFormat: 'CycloneDX', specVersion: '1.6', serialNumber: /^urn:uuid:/ })
  t.same(cyclonedx.vulnerabilities.map((vulnerability: { analysis: { state: string } }) => vulnerability.analysis.state).sort(), ['false_positive', 'in_triage', 'not_affected'])

  const sarifApi = await buildRecordsApi(t)
  await importReport(t, sarifApi, await fixture('github-conventions.sarif'))
  const sarif = (await list(sarifApi, 'application/sarif+json')).json()
  t.match(sarif, { version: '2.1.0', runs: [{ tool: { driver: { name: 'security-records' } } }] })
  const [run] = sarif.runs
  t.ok(run.results.length > 0)
  for (const result of run.results) {
    t.ok(result.locations[0].physicalLocation.artifactLocation.uri, 'every result has a location')
    t.ok(result.partialFingerprints['securityRecordsFingerprint/v1'])
    t.match(run.tool.driver.rules[result.ruleIndex], { id: result.ruleId, properties: { 'security-severity': /^\d+\.\d$/ } })
  }
})

t.test('SARIF exports only records with a code location as the SARIF import writes it (its own paragraph); records without one are left out', async (t) => {
  const api = await buildRecordsApi(t)
  const base = { category: 'vulnerability', severity: 'high', asset: { name: 'web', type: 'repository' }, source: { tool: 'manual', ruleId: 'manual-review' } }
  await api.create({ ...base, title: 'placed', description: 'Found in review.\n\n**Location:** `src/app.js:12`\n\n**Rule:** `manual-review`' })
  await api.create({ ...base, title: 'mentioned in prose', description: 'Compare with **Location:** `src/other.js:3` in the last report.' })
  await api.create({ ...base, title: 'no location at all' })
  await api.create({ ...base, title: 'placed but resolved', status: 'resolved', description: '**Location:** `src/old.js:1`' })
  const sarif = (await list(api, 'application/sarif+json')).json()
  t.same(sarif.runs[0].results.map((result: { message: { text: string }, locations: Array<{ physicalLocation: unknown }> }) => [result.message.text, result.locations[0]!.physicalLocation]), [
    ['placed', { artifactLocation: { uri: 'src/app.js' }, region: { startLine: 12 } }]
  ], 'open records whose description has the location paragraph; a mention inside a sentence is none')
})
