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
  t.same(await cyclonedxErrors(empty, true), null, 'an empty export is a valid document too')
  // OpenVEX has no empty document (statements: minItems 1): without decisions the export says so with none.
  t.same(JSON.parse(await exported(api, 'application/openvex+json', OTHER)).statements, [])
  t.same(sarifErrors(JSON.parse(await exported(api, 'application/sarif+json', OTHER))), null)
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
