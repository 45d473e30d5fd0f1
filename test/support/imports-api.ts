import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import type { Test } from 'tap'
import { formatOfMediaType } from '../../shared/imports/formats.ts'
import { receiveReport } from '../../shared/imports/receive-report.ts'
import { readReport } from '../../shared/imports/report-reader.ts'
import { sweepOutbox } from '../../jobs/sweep-outbox/sweep-outbox.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'
import type { RecordsApiHarness } from './records-api.ts'

/** Helpers of the import-report suites: post a SARIF report, follow its import, read what it recorded. */

export const fixture = (name: string) => readFile(new URL(`../fixtures/sarif/${name}`, import.meta.url), 'utf8')
export const SHOP = 'asset=shop&assetType=repository&environment=production'

export type ImportBody = { id: string, status: string, counts: Record<string, number>, errors: Array<{ path: string, message: string }>, [key: string]: unknown }

export async function postReport (api: RecordsApiHarness, body: string | Buffer, options: { query?: string, headers?: Record<string, string>, claims?: Record<string, unknown> } = {}) {
  return api.app.inject({
    method: 'POST',
    url: `/v1/imports?${options.query ?? SHOP}`,
    headers: { authorization: await api.bearer(options.claims), 'content-type': 'application/sarif+json', ...options.headers },
    payload: body
  })
}

/** Posts a report and waits until its import finished. */
export async function importReport (t: Test, api: RecordsApiHarness, body: string | Buffer, options: Parameters<typeof postReport>[2] = {}): Promise<ImportBody> {
  const response = await postReport(api, body, options)
  t.ok([201, 202].includes(response.statusCode), `accepted (${response.statusCode} ${response.body.slice(0, 300)})`)
  return waitForImport(api, response.json().id, options.claims)
}

export async function waitForImport (api: RecordsApiHarness, id: string, claims?: Record<string, unknown>): Promise<ImportBody> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const response = await api.app.inject({ method: 'GET', url: `/v1/imports/${id}`, headers: { authorization: await api.bearer(claims) } })
    const body = response.json() as ImportBody
    if (body.status === 'succeeded' || body.status === 'failed') return body
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`import ${id} did not finish`)
}

export async function records (api: RecordsApiHarness, asset = 'shop'): Promise<SecurityRecord[]> {
  const items: SecurityRecord[] = []
  let cursor: string | null = null
  do {
    const response = await api.app.inject({ method: 'GET', url: `/v1/records?asset=${asset}&limit=100${cursor ? `&cursor=${cursor}` : ''}`, headers: { authorization: await api.bearer() } })
    const page = response.json() as { items: SecurityRecord[], nextCursor: string | null }
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return items
}

export async function patch (api: RecordsApiHarness, record: SecurityRecord, body: Record<string, unknown>) {
  const response = await api.app.inject({ method: 'PATCH', url: `/v1/records/${record.id}`, headers: { authorization: await api.bearer(), 'if-match': `"${record.version}"`, 'content-type': 'application/json' }, payload: body })
  if (response.statusCode !== 200) throw new Error(response.body)
  return response.json() as SecurityRecord
}

export async function history (api: RecordsApiHarness, id: string) {
  return (await api.app.inject({ method: 'GET', url: `/v1/records/${id}/history`, headers: { authorization: await api.bearer() } })).json().items as Array<{ version: number, action: string, requestId: string, changes: Array<{ path: string, to: unknown }> }>
}

/** A SARIF log of one run of `tool` whose results are the given rule ids at the given lines. */
export function aReport (results: Array<{ rule: string, line: number, message?: string }>, tool = 'ExampleScanner'): string {
  return JSON.stringify({
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: tool, rules: [...new Set(results.map((result) => result.rule))].map((id) => ({ id, defaultConfiguration: { level: 'error' } })) } },
      results: results.map((result) => ({
        ruleId: result.rule,
        message: { text: result.message ?? `${result.rule} at line ${result.line}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: 'src/app.js' }, region: { startLine: result.line } } }],
        partialFingerprints: { primaryLocationLineHash: `${result.rule}-${result.line}` }
      }))
    }]
  })
}

export const byRule = (items: SecurityRecord[], ruleId: string) => items.filter((record) => record.source?.ruleId === ruleId)

/** Receives a report without processing it (what a function that died right after answering leaves). */
export async function receive (api: RecordsApiHarness, report: string): Promise<ImportBody> {
  const context = { actor: { sub: 'client:test-writer', clientId: 'test-writer', tenant: 'acme' }, now: new Date(), requestId: 'test' }
  const format = formatOfMediaType('application/sarif+json')!
  const pieces = readReport({ payload: Readable.from([Buffer.from(report)]), contentType: 'application/sarif+json', contentEncoding: undefined, contentLength: undefined }, format.paths)
  return await receiveReport(api.data, context, { asset: { name: 'shop', type: 'repository', environment: 'production' } }, format, pieces) as unknown as ImportBody
}

/** Lets the sweeper take the import up until it finished (it resumes imports nobody advances). */
export async function waitForImportOrSweep (api: RecordsApiHarness, id: string, sweeps = 100): Promise<ImportBody> {
  for (let attempt = 0; ; attempt++) {
    const response = await api.app.inject({ method: 'GET', url: `/v1/imports/${id}`, headers: { authorization: await api.bearer() } })
    const body = response.json() as ImportBody
    if (body.status === 'succeeded' || body.status === 'failed' || attempt >= sweeps) return body
    await sweepOutbox(api.data, { olderThanMs: 0 })
  }
}
