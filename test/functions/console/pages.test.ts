import { gzipSync } from 'node:zlib'
import t from 'tap'
import { consoleScript, consoleStyles } from '../../../functions/console/assets/assets.ts'
import { apiQuery, queueUrl, readFilters } from '../../../functions/console/pages/queue.ts'
import { actorLabel, triagePatch } from '../../../functions/console/pages/record.ts'
import { problemSentence } from '../../../functions/console/records-client.ts'
import { safeReturnPath } from '../../../functions/console/session-plugin.ts'

const ORIGIN = 'http://127.0.0.1:8080'

t.test('the script the console ships stays far below 60 KB gzip, and holds no inline-only constructs', async (t) => {
  const shipped = gzipSync(consoleScript, { level: 9 }).length
  t.ok(shipped < 60 * 1024, `${shipped} bytes gzip`)
  t.notMatch(consoleScript, /\beval\(|new Function|innerHTML/, 'no eval and no HTML written from script')
  t.notMatch(consoleStyles, /@import|url\(/, 'the stylesheet loads nothing else')
})

t.test('the queue\'s URL holds every filter and reads back the same, and the API gets them comma-joined', async (t) => {
  const filters = readFilters({ status: ['open', 'triaged'], severity: 'critical,high', category: 'vulnerability', asset: 'payments api', tag: 'pci', vulnerabilityId: 'CVE-2024-3094', overdue: 'true', order: 'asc', limit: '50', cursor: 'abc' })
  const url = new URL(queueUrl(filters, filters.cursor), ORIGIN)
  t.same(readFilters(Object.fromEntries([...new Set(url.searchParams.keys())].map((key) => [key, url.searchParams.getAll(key)]))), filters)
  t.equal(apiQuery(filters).toString(), 'status=open%2Ctriaged&severity=critical%2Chigh&category=vulnerability&asset=payments+api&tag=pci&vulnerabilityId=CVE-2024-3094&overdue=true&order=asc&limit=50&cursor=abc')
  t.same(readFilters({ status: ['bogus', 'open'], severity: 'constructor', limit: '1000', order: 'sideways' }), { ...readFilters({}), status: ['open'] }, 'unknown values are dropped, bounds kept')
})

t.test('a return path is one of the console\'s own, or the overview', async (t) => {
  t.equal(safeReturnPath('/console/records?severity=high', ORIGIN), '/console/records?severity=high')
  t.equal(safeReturnPath('/console', ORIGIN), '/console')
  for (const hostile of ['https://evil.example', '//evil.example', '/\\evil.example', '/console/../../evil', '/consolex', '/console/callback?code=x', '/console/signin', 'javascript:alert(1)', 42, undefined, `/console/${'a'.repeat(3000)}`]) {
    t.equal(safeReturnPath(hostile, ORIGIN), '/console', String(hostile).slice(0, 40))
  }
})

t.test('a triage form becomes a merge patch of what the person changed only', async (t) => {
  const record = { status: 'open' as const, severity: 'high' as const, assignee: 'sam' }
  t.same(triagePatch(record, { status: 'open', statusReason: '', duplicateOf: '', riskExpiresAt: '', assignee: 'sam', severity: 'high' }, 'tess'), {})
  t.same(triagePatch(record, { status: 'false_positive', statusReason: 'test data', duplicateOf: '', riskExpiresAt: '', assignee: '', severity: 'high' }, 'tess'), { status: 'false_positive', statusReason: 'test data', assignee: null })
  t.same(triagePatch(record, { status: 'accepted_risk', statusReason: 'vendor fix due', duplicateOf: '', riskExpiresAt: '2027-01-31', assignee: 'sam', severity: 'high' }, 'tess'), { status: 'accepted_risk', riskAcceptance: { expiresAt: '2027-01-31T23:59:59Z', approvedBy: 'tess' }, statusReason: 'vendor fix due' })
  t.same(triagePatch({ ...record, cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', version: '3.1' as const, baseScore: 9.8, severity: 'critical' as const } }, { status: 'open', statusReason: '', duplicateOf: '', riskExpiresAt: '', assignee: 'sam', severity: 'low' }, 'tess'), {}, 'a CVSS-scored severity is not overridden')
})

t.test('problems read as sentences with the request id; actors as who and through what', async (t) => {
  t.equal(problemSentence({ status: 409, etag: undefined, requestId: 'r-1', body: { title: 'Conflict', detail: 'A record may go from resolved only to open' } }), 'A record may go from resolved only to open. (status 409, request id r-1)')
  t.equal(problemSentence({ status: 400, etag: undefined, requestId: 'r-2', body: { detail: 'Invalid body', errors: [{ path: '/statusReason', message: 'is required for false_positive' }] } }), 'Invalid body. statusReason is required for false_positive. (status 400, request id r-2)')
  t.equal(actorLabel({ type: 'user', id: 'local-triager', name: 'Tess Triager', clientId: 'local-console' }), 'Tess Triager (via local-console)')
  t.equal(actorLabel({ type: 'client', id: 'trivy-ci', clientId: 'trivy-ci' }), 'client trivy-ci')
})
