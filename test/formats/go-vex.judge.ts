/**
 * The OpenVEX project's own Go library as judge of our OpenVEX: github.com/openvex/go-vex (the
 * library the vexctl CLI is a thin command line over) opens our exports as `vexctl merge` does,
 * checks every statement with its rules, merges two exports of different filters, and writes a
 * document of its own (as `vexctl create` does) that `POST /v1/vex` applies. The judge is
 * test/formats/go-vex/main.go, built from the Go module proxy by its build.sh (cached). It needs Go
 * 1.25+, so it is a suite of its own, `npm run test:vex`, which .ci/run runs after installing Go.
 */
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { importReport, patch, records } from '../support/imports-api.ts'
import { openvexErrors } from '../support/format-schemas.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'

t.setTimeout(10 * 60 * 1000)

interface MergedStatement { vulnerability: string, aliases: string[], products: Array<{ id: string, subcomponents: string[] }>, status: string, justification: string, impactStatement: string, actionStatement: string, timestamp: string | null }
interface Merged { documents: Array<{ file: string, id: string, author: string, context: string, statements: number }>, merged: MergedStatement[], document: Record<string, unknown> }

/** The judge's binary, built by build.sh on first use. A missing toolchain is an error, never a skip. */
function judgeBinary (): string {
  const result = spawnSync('bash', [new URL('./go-vex/build.sh', import.meta.url).pathname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (result.status !== 0) throw new Error(`test/formats/go-vex/build.sh failed (exit ${result.status}): the OpenVEX judge could not be built`)
  return join(result.stdout.trim().split('\n').at(-1)!, 'go-vex')
}

const binary = judgeBinary()
const work = mkdtempSync(join(tmpdir(), 'security-records-go-vex-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

function judge (args: string[]): { status: number | null, stdout: string, stderr: string } {
  const result = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (result.error) throw result.error
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

let files = 0
const written = (body: string) => {
  const file = join(work, `document-${++files}.json`)
  writeFileSync(file, body)
  return file
}

/** go-vex merging these documents: its summary; throws with go-vex's reason when it refuses one. */
function merge (documents: string[], flags: string[] = []): Merged {
  const { status, stdout, stderr } = judge(['merge', ...flags, ...documents.map(written)])
  if (status !== 0) throw new Error(`go-vex refused: ${stderr.trim()}`)
  return JSON.parse(stdout) as Merged
}

const bom = () => readFile(new URL('../fixtures/cyclonedx/trivy-shaped-1.6.bom.json', import.meta.url), 'utf8')
const OTHER = { tenant: 'other', sub: 'client:other' }
const imageQuery = (asset: string) => `asset=${asset}&assetType=container_image&environment=production`

async function importBom (t: Test, api: RecordsApiHarness, asset: string, claims?: Record<string, unknown>) {
  await importReport(t, api, await bom(), { query: imageQuery(asset), headers: { 'content-type': 'application/vnd.cyclonedx+json' }, claims })
}

async function exported (api: RecordsApiHarness, query: string, claims?: Record<string, unknown>): Promise<string> {
  const response = await api.app.inject({ method: 'GET', url: `/v1/records?${query}`, headers: { authorization: await api.bearer(claims), accept: 'application/openvex+json' } })
  if (response.statusCode !== 200) throw new Error(response.body)
  return response.body
}

const find = (items: SecurityRecord[], vulnerability: string, component: string) => {
  const record = items.find((item) => item.vulnerabilityIds?.[0] === vulnerability && item.component?.name === component)
  if (!record) throw new Error(`no record of ${vulnerability} in ${component}`)
  return record
}

/** The BOM imported as two images (its own analysis decides one lodash advisory); on each, a decision of every kind the export speaks of. */
async function decided (t: Test, api: RecordsApiHarness) {
  await importBom(t, api, 'shop-image')
  await importBom(t, api, 'shop-staging')
  const image = await records(api, 'shop-image')
  await patch(api, find(image, 'CVE-2021-23337', 'lodash'), { status: 'not_affected', statusReason: 'vulnerable_code_not_in_execute_path: template() is never called with user input' })
  await patch(api, find(image, 'CVE-2021-44906', 'minimist'), { status: 'triaged' })
  await patch(api, find(image, 'CVE-2021-44906', 'nested-lib'), { status: 'in_progress', assignee: 'alice@example.com' })
  const staging = await records(api, 'shop-staging')
  await patch(api, find(staging, 'CVE-2021-23337', 'lodash'), { status: 'false_positive', statusReason: 'not the lodash we ship' })
  await patch(api, find(staging, 'CVE-2021-44906', 'minimist'), { status: 'resolved', statusReason: 'upgraded in the next image' })
  return [...await records(api, 'shop-image'), ...await records(api, 'shop-staging')]
}

/** What go-vex should read of a record: OpenVEX's status for ours, and the justification the reason starts with. */
const JUSTIFICATIONS = ['component_not_present', 'vulnerable_code_not_present', 'vulnerable_code_not_in_execute_path', 'vulnerable_code_cannot_be_controlled_by_adversary', 'inline_mitigations_already_exist']
const justification = (reason: string | undefined) => JUSTIFICATIONS.find((label) => reason?.startsWith(label)) ?? ''
const openvexStatus: Partial<Record<SecurityRecord['status'], string>> = { not_affected: 'not_affected', false_positive: 'not_affected', resolved: 'fixed', in_progress: 'affected', accepted_risk: 'affected', triaged: 'under_investigation' }
const expected = (items: SecurityRecord[]) => items.filter((record) => openvexStatus[record.status] !== undefined)
  .map((record) => `${record.vulnerabilityIds![0]} ${record.component!.purl} ${openvexStatus[record.status]} ${record.status === 'not_affected' ? justification(record.statusReason) : ''}`).sort()
const read = (statements: MergedStatement[]) => statements
  .map((statement) => `${statement.vulnerability} ${statement.products.map((product) => product.id).join(',')} ${statement.status} ${statement.justification}`).sort()

t.test('the judge is live: go-vex refuses what OpenVEX forbids in an export of ours', async (t) => {
  const api = await buildRecordsApi(t)
  await decided(t, api)
  const good = await exported(api, 'asset=shop-image')
  t.equal(merge([good]).documents[0]!.statements, 4, 'the export as it is passes')
  const document = JSON.parse(good) as { '@context': string, statements: Array<Record<string, unknown>> }
  const broken = (change: (copy: typeof document) => void) => {
    const copy = structuredClone(document)
    change(copy)
    return judge(['merge', written(JSON.stringify(copy))])
  }
  // What an export that named our own status would say.
  const falsePositive = broken((copy) => { copy.statements[0]!.status = 'false_positive' })
  t.equal(falsePositive.status, 1)
  t.match(falsePositive.stderr, /invalid status value "false_positive"/)
  const notAffected = document.statements.findIndex((statement) => statement.status === 'not_affected')
  const bare = broken((copy) => { delete copy.statements[notAffected]!.justification; delete copy.statements[notAffected]!.impact_statement })
  t.match(bare.stderr, /either justification or impact statement must be defined when using status "not_affected"/)
  const affected = document.statements.findIndex((statement) => statement.status === 'affected')
  t.match(broken((copy) => { delete copy.statements[affected]!.action_statement }).stderr, /action statement must be set when using status "affected"/)
  t.match(broken((copy) => { copy['@context'] = 'https://example.com/vex' }).stderr, /unable to detect document format/)
})

t.test('go-vex opens two exports of different filters, merges them (as vexctl merge does) into our decisions, and the merged document applies back', async (t) => {
  const api = await buildRecordsApi(t)
  const items = await decided(t, api)
  const image = await exported(api, 'asset=shop-image')
  const staging = await exported(api, 'asset=shop-staging')
  // vexctl merge names a merged document merged-vex-<hash> unless told an @id (not an IRI, as the schema wants one).
  const merged = merge([image, staging], ['-id', 'https://example.com/vex/shop-merged'])
  t.same(merged.documents.map((document) => [document.context, document.statements]), [['https://openvex.dev/ns/v0.2.0', 4], ['https://openvex.dev/ns/v0.2.0', 3]], 'each export read, its statements counted')
  t.match(merged.documents[0]!.id, /^urn:uuid:/)
  t.same(read(merged.merged), expected(items), 'every decision, and nothing else, as go-vex reads it')
  for (const statement of merged.merged) {
    t.ok(statement.timestamp, `${statement.vulnerability}: go-vex sees when it was decided`)
    if (statement.status === 'affected') t.match(statement.actionStatement, /^Remediation in progress \(alice@example\.com\)$/)
  }
  t.match(merged.merged.find((statement) => statement.justification !== '')?.impactStatement, 'template() is never called with user input')
  t.same(openvexErrors(merged.document), null, 'the document go-vex writes from ours is valid against the OpenVEX schema')
  t.match(merged.document, { '@id': 'https://example.com/vex/shop-merged', statements: Array })

  // go-vex's merged document, applied to a fresh tenant with the same images, reproduces every decision.
  await importBom(t, api, 'shop-image', OTHER)
  await importBom(t, api, 'shop-staging', OTHER)
  const applied = await api.app.inject({ method: 'POST', url: '/v1/vex', headers: { authorization: await api.bearer(OTHER), 'content-type': 'application/openvex+json' }, payload: JSON.stringify(merged.document) })
  t.equal(applied.statusCode, 200, applied.body)
  t.match(applied.json().counts, { statements: 7, unknown: 0, refused: 0 })
  // A product named by package URL alone matches that package in both images, so each record of the
  // fresh tenant ends with the later of the two images' decisions (go-vex sorts the merged statements
  // by time): minimist triaged in one image, then resolved in the other; nested-lib in progress (an
  // affected record stays open); both lodash advisories not affected.
  const fresh = async (asset: string) => Object.fromEntries((await api.app.inject({ method: 'GET', url: `/v1/records?asset=${asset}&limit=100`, headers: { authorization: await api.bearer(OTHER) } })).json().items
    .map((record: SecurityRecord) => [`${record.vulnerabilityIds![0]} ${record.component!.name}`, record.status]))
  const latest = { 'CVE-2021-23337 lodash': 'not_affected', 'GHSA-p6mc-m468-83gw lodash': 'not_affected', 'CVE-2021-44906 minimist': 'resolved', 'CVE-2021-44906 nested-lib': 'open' }
  t.same(await fresh('shop-image'), latest)
  t.same(await fresh('shop-staging'), latest)
  const again = await exported(api, 'asset=shop-image', OTHER)
  t.equal(merge([again]).documents[0]!.statements, 3, 'the fresh tenant\'s export is read by go-vex too')

  const empty = merge([await exported(api, 'asset=nothing-here')])
  t.same([empty.documents[0]!.statements, empty.merged], [0, []], 'an export without decisions is a document go-vex reads')
})

t.test('a document go-vex writes (as vexctl create does) applies its decisions through POST /v1/vex', async (t) => {
  const api = await buildRecordsApi(t)
  await importBom(t, api, 'shop-image')
  const statements = [
    { product: 'pkg:npm/lodash@4.17.20', vulnerability: 'CVE-2021-23337', status: 'not_affected', justification: 'vulnerable_code_cannot_be_controlled_by_adversary', impact_statement: 'the template comes from our own code' },
    { product: 'pkg:npm/minimist@1.2.5', vulnerability: 'CVE-2021-44906', status: 'under_investigation' },
    { product: 'pkg:npm/nested-lib@0.1.0', vulnerability: 'CVE-2021-44906', status: 'fixed', status_notes: 'upgraded' },
    { product: 'pkg:npm/left-pad@1.0.0', vulnerability: 'CVE-2099-0001', status: 'affected', action_statement: 'upgrade left-pad' }
  ]
  const created = judge(['create', '-author', 'Shop Security <security@example.com>', '-role', 'Document Creator', ...statements.flatMap((statement) => ['-statement', JSON.stringify(statement)])])
  t.equal(created.status, 0, created.stderr)
  const document = JSON.parse(created.stdout) as { '@id': string, statements: unknown[] }
  t.same(openvexErrors(document), null, 'go-vex\'s document is valid against the OpenVEX schema')
  t.match(document['@id'], /^https:\/\/openvex\.dev\/docs\/public\/vex-[0-9a-f]{64}$/, 'named by its canonical hash, as vexctl names it')
  const response = await api.app.inject({ method: 'POST', url: '/v1/vex', headers: { authorization: await api.bearer(), 'content-type': 'application/openvex+json' }, payload: created.stdout })
  t.equal(response.statusCode, 200, response.body)
  t.match(response.json(), {
    document: { id: document['@id'], author: 'Shop Security <security@example.com>' },
    counts: { statements: 4, applied: 3, refused: 0, unknown: 1 },
    unknown: [{ vulnerability: 'CVE-2099-0001', products: ['pkg:npm/left-pad@1.0.0'] }]
  })
  const items = await records(api, 'shop-image')
  t.match(find(items, 'CVE-2021-23337', 'lodash'), { status: 'not_affected', statusReason: /^vulnerable_code_cannot_be_controlled_by_adversary: the template comes from our own code/ })
  t.equal(find(items, 'CVE-2021-44906', 'minimist').status, 'triaged')
  t.equal(find(items, 'CVE-2021-44906', 'nested-lib').status, 'resolved')
  // And what we export of those decisions go-vex reads back as it wrote them.
  const back = read(merge([await exported(api, 'asset=shop-image')]).merged)
  t.same(back, expected(items))
  t.same(back.filter((line) => !line.startsWith('GHSA')), [
    'CVE-2021-23337 pkg:npm/lodash@4.17.20 not_affected vulnerable_code_cannot_be_controlled_by_adversary',
    'CVE-2021-44906 pkg:npm/minimist@1.2.5 under_investigation ',
    'CVE-2021-44906 pkg:npm/nested-lib@0.1.0 fixed '
  ], 'the three decisions go-vex wrote')
  const refused = judge(['create', '-statement', JSON.stringify({ product: 'pkg:npm/a@1', vulnerability: 'CVE-1', status: 'not_affected' })])
  t.equal(refused.status, 1, 'go-vex will not write a not_affected without justification or impact')
})
