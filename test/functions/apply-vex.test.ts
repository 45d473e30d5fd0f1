import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { history, importReport, patch, records } from '../support/imports-api.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'

const IMAGE = 'asset=shop-image&assetType=container_image&environment=production'
const bom = () => readFile(new URL('../fixtures/cyclonedx/trivy-shaped-1.6.bom.json', import.meta.url), 'utf8')

async function postVex (api: RecordsApiHarness, document: unknown, contentType = 'application/openvex+json', claims?: Record<string, unknown>) {
  return api.app.inject({ method: 'POST', url: '/v1/vex', headers: { authorization: await api.bearer(claims), 'content-type': contentType }, payload: typeof document === 'string' ? document : JSON.stringify(document) })
}

const openVex = (statements: unknown[]) => ({
  '@context': 'https://openvex.dev/ns/v0.2.0',
  '@id': 'https://example.com/vex/shop-2026-12',
  author: 'Shop Security <security@example.com>',
  timestamp: '2026-12-06T12:00:00Z',
  version: 1,
  statements
})

async function imported (t: Test, api: RecordsApiHarness): Promise<SecurityRecord[]> {
  await importReport(t, api, await bom(), { query: IMAGE, headers: { 'content-type': 'application/vnd.cyclonedx+json' } })
  return records(api, 'shop-image')
}

t.test('OpenVEX statements apply their decisions through the update path; history names the document and its author', async (t) => {
  const api = await buildRecordsApi(t)
  const before = await imported(t, api)
  const response = await postVex(api, openVex([
    { vulnerability: { name: 'CVE-2021-23337' }, products: [{ '@id': 'pkg:oci/shop', subcomponents: [{ '@id': 'pkg:npm/lodash@4.17.20' }] }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', impact_statement: 'template() is never called with user input' },
    { vulnerability: { name: 'CVE-2021-44906' }, products: [{ '@id': 'pkg:npm/minimist' }], status: 'under_investigation' },
    { vulnerability: { name: 'CVE-2099-0001' }, products: [{ '@id': 'pkg:npm/left-pad@1.0.0' }], status: 'fixed' }
  ]))
  t.equal(response.statusCode, 200, response.body)
  t.match(response.json(), {
    format: 'openvex',
    document: { id: 'https://example.com/vex/shop-2026-12', author: 'Shop Security <security@example.com>' },
    counts: { statements: 3, matched: 2, applied: 2, unchanged: 0, refused: 0, unknown: 1 },
    unknown: [{ path: '/statements/2', vulnerability: 'CVE-2099-0001', products: ['pkg:npm/left-pad@1.0.0'] }]
  })
  const after = await records(api, 'shop-image')
  t.equal(after.length, before.length, 'nothing is created')
  const lodash = after.find((record) => record.source?.ruleId === 'CVE-2021-23337')!
  t.match(lodash, { status: 'not_affected', statusReason: /^vulnerable_code_not_in_execute_path: template\(\) is never called with user input \(VEX https:\/\/example\.com\/vex\/shop-2026-12 by Shop Security/ })
  const entries = await history(api, lodash.id)
  t.match(entries[0], { requestId: new RegExp(`^vex:${response.json().id}:0$`) })
  t.match(after.find((record) => record.component?.name === 'minimist'), { status: 'triaged' }, 'a purl without version matches every version')

  const again = await postVex(api, openVex([
    { vulnerability: { name: 'CVE-2021-23337' }, products: [{ '@id': 'pkg:oci/shop', subcomponents: [{ '@id': 'pkg:npm/lodash@4.17.20' }] }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', impact_statement: 'template() is never called with user input' }
  ]))
  t.match(again.json().counts, { applied: 0, unchanged: 1 }, 'the same decision again changes nothing')
})

t.test('a transition the workflow forbids is listed per statement, not applied', async (t) => {
  const api = await buildRecordsApi(t)
  const minimist = (await imported(t, api)).find((record) => record.component?.name === 'minimist')!
  await patch(api, minimist, { status: 'in_progress' })
  const response = await postVex(api, openVex([{ vulnerability: { name: 'CVE-2021-44906' }, products: [{ '@id': 'pkg:npm/minimist@1.2.5' }], status: 'not_affected', justification: 'inline_mitigations_already_exist' }]))
  t.match(response.json(), { counts: { matched: 1, applied: 0, refused: 1 }, refused: [{ path: '/statements/0', recordId: minimist.id, message: /in_progress to not_affected/ }] })
  t.equal((await records(api, 'shop-image')).find((record) => record.id === minimist.id)!.status, 'in_progress')
})

t.test('a CycloneDX VEX: analysis states map (exploitable reopens a closed record); as application/json it is recognised', async (t) => {
  const api = await buildRecordsApi(t)
  const before = await imported(t, api)
  const suppressed = before.find((record) => record.source?.ruleId === 'GHSA-p6mc-m468-83gw')!
  t.equal(suppressed.status, 'not_affected')
  const vex = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata: { authors: [{ name: 'Pat Example' }] },
    components: [{ 'bom-ref': 'lodash', type: 'library', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' }],
    vulnerabilities: [
      { id: 'GHSA-p6mc-m468-83gw', analysis: { state: 'exploitable', detail: 'reachable after all' }, affects: [{ ref: 'lodash' }] },
      { id: 'CVE-2021-23337', analysis: { state: 'false_positive', detail: 'not our lodash' }, affects: [{ ref: 'pkg:npm/lodash@4.17.20' }] },
      { id: 'CVE-2021-44906', affects: [{ ref: 'lodash' }] }
    ]
  }
  const response = await postVex(api, vex, 'application/json')
  t.equal(response.statusCode, 200, response.body)
  t.match(response.json(), { format: 'cyclonedx', document: { id: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79', author: 'Pat Example' }, counts: { statements: 3, applied: 2, ignored: 1 }, ignored: [{ path: '/vulnerabilities/2', message: /analysis\.state/ }] })
  const after = await records(api, 'shop-image')
  t.equal(after.find((record) => record.id === suppressed.id)!.status, 'open')
  t.match(after.find((record) => record.source?.ruleId === 'CVE-2021-23337'), { status: 'false_positive', statusReason: /not our lodash \(VEX urn:uuid:3e671687.* by Pat Example\)/ })
})

t.test('a CycloneDX VEX carrying the BOM\'s 60 000 components applies (components stream one by one, nested ones too)', async (t) => {
  const api = await buildRecordsApi(t)
  await imported(t, api)
  const components: Array<Record<string, unknown>> = Array.from({ length: 60_000 }, (_, i) => ({ 'bom-ref': `c${i}`, type: 'library', name: `package-${i}`, version: '1.0.0', purl: `pkg:npm/package-${i}@1.0.0` }))
  components[30_000]!.components = [{ 'bom-ref': 'lodash', type: 'library', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' }]
  const response = await postVex(api, {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    components,
    vulnerabilities: [{ id: 'CVE-2021-23337', analysis: { state: 'not_affected', justification: 'code_not_reachable' }, affects: [{ ref: 'lodash' }] }]
  }, 'application/vnd.cyclonedx+json')
  t.equal(response.statusCode, 200, response.body.slice(0, 300))
  t.match(response.json(), { counts: { statements: 1, applied: 1, unknown: 0 } })
  t.match((await records(api, 'shop-image')).find((record) => record.source?.ruleId === 'CVE-2021-23337'), { status: 'not_affected' })
})

t.test('a VEX never touches another tenant\'s records, even naming their ids', async (t) => {
  const api = await buildRecordsApi(t)
  const theirs = await imported(t, api)
  const other = { tenant: 'other', sub: 'client:other' }
  const response = await postVex(api, openVex(theirs.map((record) => ({ vulnerability: { name: record.source!.ruleId }, products: [{ '@id': record.id }, { '@id': record.component!.purl ?? record.component!.name }], status: 'not_affected', justification: 'component_not_present' }))), 'application/openvex+json', other)
  t.equal(response.statusCode, 200, response.body)
  t.match(response.json().counts, { statements: theirs.length, matched: 0, applied: 0, unknown: theirs.length })
  const after = await records(api, 'shop-image')
  t.same(after.map((record) => [record.id, record.version, record.status]), theirs.map((record) => [record.id, record.version, record.status]))
})

t.test('what is not a VEX document is a 4xx problem', async (t) => {
  const api = await buildRecordsApi(t)
  const wrongContext = await postVex(api, { '@context': 'https://example.com', statements: [] })
  t.equal(wrongContext.statusCode, 422)
  t.match(wrongContext.json(), { errors: [{ path: '/@context' }] })
  const broken = await postVex(api, '{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [')
  t.equal(broken.statusCode, 400)
  t.equal(broken.headers['content-type'], 'application/problem+json; charset=utf-8')
  const toImports = await api.app.inject({ method: 'POST', url: '/v1/imports?asset=a&assetType=service', headers: { authorization: await api.bearer(), 'content-type': 'application/openvex+json' }, payload: JSON.stringify(openVex([])) })
  t.equal(toImports.statusCode, 415)
  t.match(toImports.json().detail, /POST \/v1\/vex/)
})

t.test('a list of statements that is no list is a 422 naming it, never an empty success (schemathesis: `vulnerabilities: {}` was a 200)', async (t) => {
  const api = await buildRecordsApi(t)
  const cyclonedx = await postVex(api, { bomFormat: 'CycloneDX', specVersion: '1.4', components: [], vulnerabilities: {} }, 'application/vnd.cyclonedx+json')
  t.equal(cyclonedx.statusCode, 422)
  t.match(cyclonedx.json(), { errors: [{ path: '/vulnerabilities', message: 'must be an array' }] })
  const cyclonedxNull = await postVex(api, { bomFormat: 'CycloneDX', specVersion: '1.4', components: [], vulnerabilities: null }, 'application/vnd.cyclonedx+json')
  t.equal(cyclonedxNull.statusCode, 422, 'null is no list either (SARIF alone lets a run\'s results be null)')
  const components = await postVex(api, { bomFormat: 'CycloneDX', specVersion: '1.4', components: {}, vulnerabilities: [] }, 'application/vnd.cyclonedx+json')
  t.equal(components.statusCode, 422)
  t.match(components.json(), { errors: [{ path: '/components', message: 'must be an array' }] })
  const author = await postVex(api, { '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://example.com/vex/1', author: 5, statements: [] })
  t.equal(author.statusCode, 422)
  t.match(author.json(), { errors: [{ path: '/author', message: 'must be a string' }] })
  const none = await postVex(api, { '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://example.com/vex/1', author: 'a' })
  t.equal(none.statusCode, 422, 'an OpenVEX document without statements')
  t.match(none.json(), { errors: [{ path: '/statements' }] })
  const openvex = await postVex(api, { '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://example.com/vex/1', author: 'a', timestamp: '2026-12-06T12:00:00Z', version: 1, statements: 'none' })
  t.equal(openvex.statusCode, 422)
  t.match(openvex.json(), { errors: [{ path: '/statements', message: 'must be an array' }] })
  const sarif = await api.app.inject({ method: 'POST', url: '/v1/imports?asset=a&assetType=service', headers: { authorization: await api.bearer(), 'content-type': 'application/sarif+json' }, payload: JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: {} }] }) })
  t.equal(sarif.statusCode, 422)
  t.match(sarif.json(), { errors: [{ path: '/runs/0/results', message: 'must be an array' }] })
  const sarifNull = await api.app.inject({ method: 'POST', url: '/v1/imports?asset=a&assetType=service', headers: { authorization: await api.bearer(), 'content-type': 'application/sarif+json' }, payload: JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: null }] }) })
  t.equal(sarifNull.statusCode, 201, 'a SARIF run whose results are null (the tool did not run) reports none')
})
