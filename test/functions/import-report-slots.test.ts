import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import t from 'tap'
import { BACKGROUND_LIMITS, createBackgroundImports } from '../../functions/import-report/background-imports.ts'
import { RECEIVE_LIMITS } from '../../functions/import-report/route.ts'
import { formatOfMediaType } from '../../shared/imports/formats.ts'
import { receiveReport } from '../../shared/imports/receive-report.ts'
import { readReport } from '../../shared/imports/report-reader.ts'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { aReport, waitForImport } from '../support/imports-api.ts'

let uploads = 0

/**
 * An upload over HTTP that stays open until `end()`: the report is being received meanwhile. Each
 * about an asset of its own: imports of one scope apply one at a time, and this is about receiving.
 */
async function openUpload (api: RecordsApiHarness, tenant: string) {
  const { port } = api.app.server.address() as AddressInfo
  const text = aReport([{ rule: 'r', line: 1 }])
  const upload = request({ host: '127.0.0.1', port, method: 'POST', path: `/v1/imports?asset=shop-${++uploads}&assetType=repository&environment=production`, headers: { authorization: await api.bearer({ tenant }), 'content-type': 'application/sarif+json', 'content-length': Buffer.byteLength(text) } })
  const answer = new Promise<{ statusCode: number, headers: Record<string, unknown>, json: () => { detail: string } }>((resolve, reject) => {
    upload.on('response', (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ statusCode: response.statusCode!, headers: response.headers, json: () => JSON.parse(Buffer.concat(chunks).toString()) }))
    })
    upload.on('error', reject)
  })
  upload.write(text.slice(0, 20))
  return { answer, end: () => { upload.end(text.slice(20)) } }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

t.test(`an instance receives ${RECEIVE_LIMITS.perInstance} reports at once, ${RECEIVE_LIMITS.perTenant} of one tenant: beyond, a 429 for the tenant and a 503 for the instance, each with Retry-After`, async (t) => {
  const api = await buildRecordsApi(t)
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const a = [await openUpload(api, 'acme'), await openUpload(api, 'acme')]
  await settle()
  const third = await openUpload(api, 'acme')
  third.end()
  const tenantFull = await third.answer
  t.equal(tenantFull.statusCode, 429)
  t.match(tenantFull.headers['content-type'], /^application\/problem\+json/)
  t.ok(Number(tenantFull.headers['retry-after']) > 0)
  t.match(tenantFull.json().detail, /2 reports of your tenant are being received/)

  const b = [await openUpload(api, 'beta'), await openUpload(api, 'beta')]
  await settle()
  const other = await openUpload(api, 'gamma')
  other.end()
  const instanceFull = await other.answer
  t.equal(instanceFull.statusCode, 503)
  t.ok(Number(instanceFull.headers['retry-after']) > 0)
  t.match(instanceFull.json().detail, /receiving 4 reports, as many as it takes at once/)

  for (const upload of [...a, ...b]) upload.end()
  for (const upload of [...a, ...b]) t.equal((await upload.answer).statusCode, 201, 'the uploads under the limits are imported')
  const again = await openUpload(api, 'gamma')
  again.end()
  t.equal((await again.answer).statusCode, 201, 'the slots are free again once the uploads ended')
})

t.test(`background imports run ${BACKGROUND_LIMITS.perInstance} at once, ${BACKGROUND_LIMITS.perTenant} of one tenant; the others wait their turn and all finish`, async (t) => {
  const api = await buildRecordsApi(t)
  const receiveAs = async (tenant: string) => {
    const format = formatOfMediaType('application/sarif+json')!
    const report = aReport(Array.from({ length: 150 }, (_, line) => ({ rule: 'r', line })))
    const pieces = readReport({ payload: Readable.from([Buffer.from(report)]), contentType: 'application/sarif+json', contentEncoding: undefined, contentLength: undefined }, format.paths)
    const context = { actor: { sub: `client:${tenant}`, clientId: tenant, tenant }, now: new Date(), requestId: 'test' }
    return { tenant, id: (await receiveReport(api.data, context as never, { asset: { name: 'shop', type: 'repository' } }, format, pieces)).id }
  }
  const imports = [await receiveAs('acme'), await receiveAs('acme'), await receiveAs('acme'), await receiveAs('beta'), await receiveAs('gamma')]
  const background = createBackgroundImports(api.data, { warn: () => {} })
  t.teardown(() => background.stop())
  for (const { tenant, id } of imports) background.start(tenant, id)
  t.equal(background.waiting, 3, 'one of acme and one of beta run; acme\'s others and gamma\'s wait')
  for (const { tenant, id } of imports) t.equal((await waitForImport(api, id, { tenant })).status, 'succeeded')
  t.equal(background.waiting, 0)
})
