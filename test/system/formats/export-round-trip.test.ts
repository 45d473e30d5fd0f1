import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { buildRecordsApi, type RecordsApiHarness } from '../../support/records-api.ts'
import { fixture, importReport, patch, records } from '../../support/imports-api.ts'
import { cyclonedxErrors, openvexErrors, sarifErrors } from '../../support/format-schemas.ts'
import type { SecurityRecord } from '../../../shared/records/schema.ts'

const IMAGE = 'asset=shop-image&assetType=container_image&environment=production'
const OTHER = { tenant: 'other', sub: 'client:other' }
const bom = () => readFile(new URL('../../fixtures/cyclonedx/trivy-shaped-1.6.bom.json', import.meta.url), 'utf8')

async function exported (api: RecordsApiHarness, accept: string, claims?: Record<string, unknown>) {
  const response = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer(claims), accept } })
  if (response.statusCode !== 200) throw new Error(response.body)
  return response.body
}

/** The BOM imported into a tenant, with a decision of each kind a VEX carries. */
async function decide (t: Test, api: RecordsApiHarness) {
  await importReport(t, api, await bom(), { query: IMAGE, headers: { 'content-type': 'application/vnd.cyclonedx+json' } })
  const items = await records(api, 'shop-image')
  await patch(api, items.find((record) => record.source?.ruleId === 'CVE-2021-23337')!, { status: 'false_positive', statusReason: 'not the lodash we ship' })
  await patch(api, items.find((record) => record.component?.name === 'minimist')!, { status: 'triaged' })
  await patch(api, items.find((record) => record.component?.name === 'nested-lib')!, { status: 'resolved', statusReason: 'patched in our fork' })
}

const statuses = (items: SecurityRecord[]) => Object.fromEntries(items.map((record) => [`${record.source?.ruleId} ${record.component?.name}`, record.status]))

t.test('exports are valid against the formats\' own schemas: CycloneDX 1.6 (strict), OpenVEX 0.2.0, SARIF 2.1.0', async (t) => {
  const api = await buildRecordsApi(t)
  await decide(t, api)
  await importReport(t, api, await fixture('github-conventions.sarif'))
  await importReport(t, api, await fixture('semgrep-1.185.0.sarif'), { query: 'asset=web&assetType=repository' })
  const cyclonedx = await exported(api, 'application/vnd.cyclonedx+json')
  t.same(await cyclonedxErrors(cyclonedx, true), null)
  t.ok(JSON.parse(cyclonedx).vulnerabilities.length >= 4)
  const openvex = JSON.parse(await exported(api, 'application/openvex+json'))
  t.same(openvexErrors(openvex), null)
  t.ok(openvex.statements.length >= 4)
  const sarif = JSON.parse(await exported(api, 'application/sarif+json'))
  t.same(sarifErrors(sarif), null)
  t.ok(sarif.runs[0].results.length >= 5)
  const empty = await exported(api, 'application/vnd.cyclonedx+json', OTHER)
  t.same(JSON.parse(empty).vulnerabilities, [])
  t.same(await cyclonedxErrors(empty, true), null, 'a CycloneDX VEX without decisions is a valid document too')
  t.same(sarifErrors(JSON.parse(await exported(api, 'application/sarif+json', OTHER))), null)
})

t.test('OpenVEX has no document without a statement (the schema\'s minItems 1): without a decision under the filter, a 404 no-vex-statements, never an invalid 200', async (t) => {
  const api = await buildRecordsApi(t)
  t.not(openvexErrors({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'urn:uuid:0191e7a2-0000-7000-8000-000000000000', author: 'a', timestamp: '2026-01-01T00:00:00Z', version: 1, statements: [] }), null, 'the schema refuses an empty statements list')
  await decide(t, api)
  for (const [claims, query] of [[OTHER, ''], [undefined, '?status=open'], [undefined, '?asset=nothing-here']] as const) {
    const response = await api.app.inject({ method: 'GET', url: `/v1/records${query}`, headers: { authorization: await api.bearer(claims), accept: 'application/openvex+json' } })
    t.equal(response.statusCode, 404, `${query || 'another tenant'}: ${response.body.slice(0, 200)}`)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.equal(response.headers.vary, 'Accept')
    t.match(response.json(), { type: /\/problems\/no-vex-statements$/, title: 'No VEX statements', status: 404, detail: /needs at least one statement/ })
  }
  const decisions = JSON.parse(await exported(api, 'application/openvex+json', undefined))
  t.same(openvexErrors(decisions), null, 'with decisions, a valid document')
})

t.test('the OpenVEX export reads past pages without a decision to the first statement before it answers', async (t) => {
  const api = await buildRecordsApi(t)
  await decide(t, api)
  // Newest first: 250 open records (no decision) come before the decided ones, over three pages.
  for (let i = 0; i < 250; i++) await api.create({ title: `open ${i}`, category: 'vulnerability', severity: 'low', asset: { name: 'shop-image', type: 'container_image' }, vulnerabilityIds: ['CVE-2024-0001'], component: { name: 'x', purl: 'pkg:npm/x@1' } })
  const response = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer(), accept: 'application/openvex+json' } })
  t.equal(response.statusCode, 200)
  const document = response.json()
  t.same(openvexErrors(document), null)
  t.equal(document.statements.length, 4, 'the decisions behind the open records')
})

/** Decisions made in one tenant, exported as `mediaType`, applied to a fresh tenant that imported the same BOM: its statuses. */
async function roundTrip (t: Test, mediaType: string) {
  const api = await buildRecordsApi(t)
  await decide(t, api)
  const decided = statuses(await records(api, 'shop-image'))
  await importReport(t, api, await bom(), { query: IMAGE, headers: { 'content-type': 'application/vnd.cyclonedx+json' }, claims: OTHER })
  const applied = await api.app.inject({ method: 'POST', url: '/v1/vex', headers: { authorization: await api.bearer(OTHER), 'content-type': mediaType }, payload: await exported(api, mediaType) })
  t.equal(applied.statusCode, 200, applied.body)
  t.match(applied.json().counts, { unknown: 0, refused: 0 })
  const fresh = await api.app.inject({ method: 'GET', url: '/v1/records?asset=shop-image&limit=100', headers: { authorization: await api.bearer(OTHER) } })
  return { decided, reproduced: statuses(fresh.json().items) }
}

t.test('round trip: a CycloneDX VEX export applied to a fresh tenant with the same BOM reproduces every decision', async (t) => {
  const { decided, reproduced } = await roundTrip(t, 'application/vnd.cyclonedx+json')
  t.same(reproduced, decided)
})

t.test('round trip through OpenVEX: the same, a false positive arriving as not_affected (OpenVEX has no false positive)', async (t) => {
  const { decided, reproduced } = await roundTrip(t, 'application/openvex+json')
  t.same(reproduced, { ...decided, 'CVE-2021-23337 lodash': 'not_affected' })
})
