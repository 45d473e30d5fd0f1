import { readdir, readFile } from 'node:fs/promises'
import t from 'tap'
import { SCAN_LIMITS } from '../../shared/imports/report-scanner.ts'
import type { BomContext } from '../../shared/imports/cyclonedx/bom-context.ts'
import { readRuns } from '../../shared/imports/stored-report.ts'
import { buildRecordsApi } from '../support/records-api.ts'
import { history, importReport, patch, postReport, records, type ImportBody } from '../support/imports-api.ts'

const fixtures = new URL('../fixtures/cyclonedx/', import.meta.url)
const bom = (name: string) => readFile(new URL(name, fixtures), 'utf8')
const CDX = { 'content-type': 'application/vnd.cyclonedx+json' }
const IMAGE = 'asset=shop-image&assetType=container_image&environment=production'

t.test('a CycloneDX 1.6 BOM: one record per vulnerability and affected component, mapped as documented', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await postReport(api, await bom('trivy-shaped-1.6.bom.json'), { query: IMAGE, headers: CDX })
  t.equal(response.statusCode, 201, response.body)
  const done = response.json() as ImportBody
  t.match(done, { status: 'succeeded', tool: { name: 'trivy', version: '0.58.1' }, counts: { results: 4, created: 4, rejected: 0, skipped: 0 } })
  const items = await records(api, 'shop-image')
  t.equal(items.length, 4)
  const lodash = items.find((record) => record.source?.ruleId === 'CVE-2021-23337')!
  t.match(lodash, {
    title: 'CVE-2021-23337 in lodash 4.17.20',
    category: 'vulnerability',
    severity: 'high',
    cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', version: '3.1', baseScore: 7.2 },
    component: { purl: 'pkg:npm/lodash@4.17.20', name: 'lodash', version: '4.17.20' },
    vulnerabilityIds: ['CVE-2021-23337', 'GHSA-35jh-r3h4-6jhm'],
    cweIds: ['CWE-94', 'CWE-77'],
    references: ['https://github.com/advisories/GHSA-35jh-r3h4-6jhm', 'https://nvd.nist.gov/vuln/detail/CVE-2021-23337', 'https://github.com/lodash/lodash/commit/3469357cff396a26c363f8c1b5a91dde28ba4b1c'],
    asset: { name: 'shop-image', type: 'container_image', environment: 'production' },
    source: { tool: 'trivy', ruleId: 'CVE-2021-23337', scanId: done.id },
    fingerprint: /^cyclonedx:/,
    status: 'open'
  })
  t.match(lodash.description, /Upgrade lodash to version 4\.17\.21/)
  t.match(lodash.description, /Not affected: 4\.17\.21/, 'the versions the BOM says are unaffected are the fix')
  const minimist = items.filter((record) => record.source?.ruleId === 'CVE-2021-44906')
  t.same(minimist.map((record) => record.component?.name).sort(), ['minimist', 'nested-lib'], 'one record per affected component, nested ones included')
  t.ok(minimist.every((record) => record.severity === 'critical'), 'the source\'s severity without a vector')
  const suppressed = items.find((record) => record.source?.ruleId === 'GHSA-p6mc-m468-83gw')!
  t.match(suppressed, { status: 'not_affected', statusReason: /code_not_reachable.*zipObjectDeep/, cvss: { vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H' } }, 'a vector without its prefix is given the method\'s')
})

t.test('sent as application/json, a BOM is recognised by its bomFormat (gzip too)', async (t) => {
  const api = await buildRecordsApi(t)
  const { gzipSync } = await import('node:zlib')
  const plain = await postReport(api, await bom('trivy-shaped-1.6.bom.json'), { query: IMAGE, headers: { 'content-type': 'application/json' } })
  t.equal(plain.statusCode, 201, plain.body)
  t.match(plain.json(), { tool: { name: 'trivy' }, counts: { results: 4, created: 4 } })
  const zipped = await postReport(api, gzipSync(await bom('trivy-shaped-1.6.bom.json')), { query: IMAGE, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
  t.match(zipped.json(), { tool: { name: 'trivy' }, counts: { results: 4, unchanged: 4 } })
  const sarif = await postReport(api, JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [] }] }), { headers: { 'content-type': 'application/json' } })
  t.equal(sarif.statusCode, 201, 'a SARIF log sent as application/json is still SARIF')
})

t.test('every CycloneDX fixture imports; imported again, every result is unchanged', async (t) => {
  const names = (await readdir(fixtures)).filter((name) => name.endsWith('.json'))
  t.ok(names.length >= 10)
  for (const name of names) {
    const api = await buildRecordsApi(t)
    const text = await bom(name)
    const first = await importReport(t, api, text, { query: IMAGE, headers: CDX })
    t.equal(first.status, 'succeeded', `${name}: ${JSON.stringify(first.errors).slice(0, 300)}`)
    const second = await importReport(t, api, text, { query: IMAGE, headers: CDX })
    const { results, rejected, skipped, unchanged } = second.counts
    t.equal(unchanged, results! - rejected! - skipped!, `${name}: all ${results} unchanged the second time`)
    t.match(second.counts, { created: 0, updated: 0, reopened: 0, resolved: 0 }, name)
  }
})

t.test('a BOM-Link or a ref to nothing is rejected by path; the rest is recorded', async (t) => {
  const api = await buildRecordsApi(t)
  const done = await importReport(t, api, await bom('bom-examples-vex-case-9.json'), { query: IMAGE, headers: CDX })
  t.match(done.counts, { results: 57, created: 0, rejected: 57 })
  t.match(done.errors[0], { path: '/vulnerabilities/0/affects/0', message: /urn:cdx:.*names no component of the BOM/ })
})

t.test('the next BOM without a vulnerability resolves its record; back again, it is reopened; a person\'s decision stays', async (t) => {
  const api = await buildRecordsApi(t)
  const text = await bom('trivy-shaped-1.6.bom.json')
  await importReport(t, api, text, { query: IMAGE, headers: CDX })
  const document = JSON.parse(text)
  const fixedLodash = { ...document, vulnerabilities: document.vulnerabilities.filter((vulnerability: { id: string }) => vulnerability.id !== 'CVE-2021-23337') }
  const minimistRecord = (await records(api, 'shop-image')).find((record) => record.component?.name === 'minimist')!
  await patch(api, minimistRecord, { status: 'accepted_risk', statusReason: 'internal only', riskAcceptance: { expiresAt: new Date(Date.now() + 86_400_000).toISOString(), approvedBy: 'ciso' } })
  const next = await importReport(t, api, JSON.stringify(fixedLodash), { query: IMAGE, headers: CDX })
  t.match(next.counts, { resolved: 1, unchanged: 3 })
  const lodash = (await records(api, 'shop-image')).find((record) => record.source?.ruleId === 'CVE-2021-23337')!
  t.match(lodash, { status: 'resolved', statusReason: new RegExp(`Not reported by import ${next.id}`) })
  const again = await importReport(t, api, text, { query: IMAGE, headers: CDX })
  t.match(again.counts, { reopened: 1, unchanged: 3 })
  const after = await records(api, 'shop-image')
  t.equal(after.find((record) => record.id === lodash.id)!.status, 'open')
  t.equal(after.find((record) => record.id === minimistRecord.id)!.status, 'accepted_risk', 'the import never overrides a person')
  t.ok((await history(api, lodash.id)).length >= 3)
})

t.test('a document that is not a CycloneDX 1.4–1.6 BOM is a 422 naming what is wrong', async (t) => {
  const api = await buildRecordsApi(t)
  const wrong = await postReport(api, JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.2', components: [] }), { query: IMAGE, headers: CDX })
  t.equal(wrong.statusCode, 422)
  t.match(wrong.json(), { errors: [{ path: '/specVersion', message: /must be "1.4", "1.5" or "1.6"|must be/ }] })
  const notBom = await postReport(api, JSON.stringify({ version: '2.1.0', runs: [] }), { query: IMAGE, headers: CDX })
  t.equal(notBom.statusCode, 422)
  t.match(notBom.json(), { errors: [{ path: '/bomFormat' }] })
})

/** A BOM of `count` components, each depending on the next and the last on the first (a cycle the import never walks). */
function cyclicBom (count: number, vulnerabilities: unknown[]) {
  const components = Array.from({ length: count }, (_, i) => ({ 'bom-ref': `c${i}`, type: 'library', name: `package-${i}`, version: '1.0.0', purl: `pkg:npm/package-${i}@1.0.0` }))
  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    metadata: { tools: { components: [{ type: 'application', name: 'hostile' }] } },
    components,
    dependencies: components.map((_, i) => ({ ref: `c${i}`, dependsOn: [`c${(i + 1) % count}`] })),
    vulnerabilities
  })
}

t.test('hostile BOMs: circular dependencies, refs to nothing, a ref named twice — clear counts and errors', async (t) => {
  const api = await buildRecordsApi(t)
  const done = await importReport(t, api, cyclicBom(20_000, [
    { id: 'CVE-2024-0001', ratings: [{ severity: 'low' }], affects: [{ ref: 'c19999' }, { ref: 'nowhere' }, { ref: '' }] },
    { id: 'CVE-2024-0002', affects: [] },
    { id: 'CVE-2024-0003', affects: [{ ref: 'c0' }, { ref: 'c0' }] }
  ]), { query: IMAGE, headers: CDX })
  t.match(done, { status: 'succeeded', counts: { results: 5, created: 2, unchanged: 0, rejected: 3 } }, 'a ref named twice is one component')
  t.match(done.errors, [
    { path: '/vulnerabilities/0/affects/1', message: 'affects ref "nowhere" names no component of the BOM' },
    { path: '/vulnerabilities/0/affects/2', message: /names no affected component/ },
    { path: '/vulnerabilities/1', message: /names no affected component/ }
  ])
  const items = await records(api, 'shop-image')
  t.same(items.map((record) => record.component?.purl).sort(), ['pkg:npm/package-0@1.0.0', 'pkg:npm/package-19999@1.0.0'])
})

t.test('a BOM of 100 000 components imports: components stream one by one, nested ones too, and its vulnerabilities become records', async (t) => {
  const api = await buildRecordsApi(t)
  const document = JSON.parse(cyclicBom(100_000, [
    { id: 'CVE-2024-0001', ratings: [{ severity: 'high' }], affects: [{ ref: 'c0' }, { ref: 'c99999' }, { ref: 'inner-2' }] }
  ]))
  // A component holding components of its own, whose members the mapping never reads.
  document.components[500].components = Array.from({ length: 3 }, (_, i) => ({ 'bom-ref': `inner-${i}`, type: 'library', name: `inner-${i}`, version: '2.0.0', hashes: [{ alg: 'SHA-256', content: 'a'.repeat(64) }] }))
  const done = await importReport(t, api, JSON.stringify(document), { query: IMAGE, headers: CDX })
  t.match(done, { status: 'succeeded', counts: { results: 3, created: 3, rejected: 0 } }, JSON.stringify(done.errors).slice(0, 300))
  const items = await records(api, 'shop-image')
  t.same(items.map((record) => record.component).sort((a, b) => a!.name.localeCompare(b!.name)), [
    { name: 'inner-2', version: '2.0.0' },
    { name: 'package-0', version: '1.0.0', purl: 'pkg:npm/package-0@1.0.0' },
    { name: 'package-99999', version: '1.0.0', purl: 'pkg:npm/package-99999@1.0.0' }
  ], 'each component as the mapping needs it: the first, the last and a nested one')
  t.ok(items.every((record) => record.severity === 'high' && record.vulnerabilityIds?.[0] === 'CVE-2024-0001'))
  const [run] = await readRuns(api.data, (await api.data.imports.get('acme', done.id))!) as unknown as BomContext[]
  t.same(Object.keys(run!.components).sort(), ['c0', 'c99999', 'inner-2'], 'stored with the import: only the components the vulnerabilities name')
})

t.test('a BOM of more components than the scanner keeps (nested ones counted) is a 413 naming the bound, never a 500', async (t) => {
  const api = await buildRecordsApi(t)
  const over = SCAN_LIMITS.streamedElements + 1
  // One top-level component holding all the others: a bound on the whole tree, not on one list.
  const nested = Array.from({ length: over - 1 }, (_, i) => `{"bom-ref":"c${i}","name":"p"}`).join(',')
  const body = `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"bom-ref":"root","name":"root","components":[${nested}]}],"vulnerabilities":[]}`
  const response = await postReport(api, body, { query: IMAGE, headers: CDX })
  t.equal(response.statusCode, 413)
  t.match(response.headers['content-type'], /application\/problem\+json/)
  t.match(response.json(), { status: 413, detail: new RegExp(`more than ${SCAN_LIMITS.streamedElements} components \\(nested ones included\\)`) })
  const atBound = `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[${Array.from({ length: SCAN_LIMITS.streamedElements }, (_, i) => `{"bom-ref":"c${i}","name":"p"}`).join(',')}],"vulnerabilities":[]}`
  const accepted = await postReport(api, atBound, { query: IMAGE, headers: CDX })
  t.ok([201, 202].includes(accepted.statusCode), `at the bound it is accepted (${accepted.statusCode} ${accepted.body.slice(0, 200)})`)
})

t.test('components that are not an array are a 422 naming them; a nested list that is none is not read', async (t) => {
  const api = await buildRecordsApi(t)
  const wrong = await postReport(api, JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: { a: 1 }, vulnerabilities: [] }), { query: IMAGE, headers: CDX })
  t.equal(wrong.statusCode, 422)
  t.match(wrong.json(), { errors: [{ path: '/components', message: 'must be an array' }] })
  const nested = await importReport(t, api, JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    components: [{ 'bom-ref': 'a', name: 'a', components: 'none', purl: { not: 'a string' } }, 7, null],
    vulnerabilities: [{ id: 'CVE-2024-0002', affects: [{ ref: 'a' }] }]
  }), { query: IMAGE, headers: CDX })
  t.match(nested.counts, { results: 1, created: 1 })
  t.same((await records(api, 'shop-image'))[0]!.component, { name: 'a' }, 'a purl that is no string is not kept')
  const after = await importReport(t, api, '{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{"id":"CVE-2024-0003","affects":[{"ref":"late"}]}],"components":[{"bom-ref":"late","name":"late","version":"3"}]}', { query: 'asset=other-image&assetType=container_image', headers: CDX })
  t.match(after.counts, { results: 1, created: 1, rejected: 0 }, 'components after the vulnerabilities are found as well')
  t.same((await records(api, 'other-image'))[0]!.component, { name: 'late', version: '3' })
})

t.test('a BOM nesting components deeper than the scanner allows is a 422, not a stack overflow', async (t) => {
  const api = await buildRecordsApi(t)
  let component: Record<string, unknown> = { 'bom-ref': 'leaf', type: 'library', name: 'leaf' }
  for (let i = 0; i < 200; i++) component = { 'bom-ref': `n${i}`, type: 'library', name: `n${i}`, components: [component] }
  const response = await postReport(api, JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [component], vulnerabilities: [] }), { query: IMAGE, headers: CDX })
  t.equal(response.statusCode, 422)
  t.match(response.json(), { errors: [{ message: /nests deeper than/ }] })
})
