/**
 * What makes the Postman collection run unattended (newman, Postman's Collection Runner) and
 * repeatedly: a collection-level pre-request script that gets its own client credentials token,
 * and per request the variables it reads and sets and the tests that check its answer.
 * Scripts run in the Postman sandbox (`pm`), so they are kept here as text, one line per element.
 */
import { oauthPaths } from '../../functions/mock-auth/endpoints.ts'

export interface PostmanEvent { listen: 'prerequest' | 'test', script: { type: 'text/javascript', exec: string[] } }

const script = (listen: PostmanEvent['listen'], lines: string[]): PostmanEvent => ({ listen, script: { type: 'text/javascript', exec: lines } })

/** Collection variables the scripts keep between requests (and, in the Postman app, between sends). */
export const flowVariables = ['accessToken', 'accessTokenExpiresAt', 'recordId', 'etag', 'importId'] as const

/**
 * Gets a client credentials token for the environment's `clientId`/`clientSecret` (client_secret_post;
 * no `scope`, so every scope the client has) unless the cached one is still good for 30 s, and hands
 * it to the collection's OAuth 2.0 auth.
 */
export const tokenPreRequest = script('prerequest', [
  '// A client credentials token for the environment\'s client, cached until shortly before it expires.',
  'const cachedUntil = Number(pm.collectionVariables.get(\'accessTokenExpiresAt\') || 0)',
  'if (!pm.collectionVariables.get(\'accessToken\') || Date.now() > cachedUntil - 30000) {',
  '  const clientId = pm.variables.get(\'clientId\')',
  '  const clientSecret = pm.variables.get(\'clientSecret\')',
  '  if (!clientId || !clientSecret) throw new Error(\'Select an environment with clientId and clientSecret (openapi/local.postman_environment.json)\')',
  '  pm.sendRequest({',
  `    url: pm.variables.replaceIn('{{baseUrl}}${oauthPaths.token}'),`,
  '    method: \'POST\',',
  '    header: { \'Content-Type\': \'application/x-www-form-urlencoded\', Accept: \'application/json\' },',
  '    body: { mode: \'urlencoded\', urlencoded: [',
  '      { key: \'grant_type\', value: \'client_credentials\' },',
  '      { key: \'client_id\', value: clientId },',
  '      { key: \'client_secret\', value: clientSecret }',
  '    ] }',
  '  }, (error, response) => {',
  '    if (error) throw error',
  '    if (response.code !== 200) throw new Error(`token endpoint answered ${response.code}: ${response.text()}`)',
  '    const token = response.json()',
  '    pm.collectionVariables.set(\'accessToken\', token.access_token)',
  '    pm.collectionVariables.set(\'accessTokenExpiresAt\', String(Date.now() + token.expires_in * 1000))',
  '  })',
  '}'
])

/** Assertions every answer of the API gets: the status, the media type and the request id. */
const expectAnswer = (status: number, contentType?: string) => [
  `pm.test('answers ${status}', () => pm.response.to.have.status(${status}))`,
  ...(contentType ? [`pm.test('as ${contentType}', () => pm.expect(pm.response.headers.get('Content-Type')).to.match(/^${contentType.replace('/', '\\/')}\\b/))`] : []),
  'pm.test(\'with a request id\', () => pm.expect(pm.response.headers.get(\'X-Request-Id\')).to.be.a(\'string\').and.not.empty)'
]

export interface RequestFlow {
  /** Path variables and headers this request takes from earlier ones. */
  pathVariables?: Record<string, string>
  headers?: Record<string, string>
  /** Query parameters switched on, with their values. */
  query?: Record<string, string>
  /** The body, where the converter finds no example to send. */
  body?: string
  tests: string[]
}

/**
 * The requests in the order they run — create → read → change (If-Match from the create) →
 * history → list → delete — each with what it reads, sets and checks.
 */
export const requestFlow: Record<string, RequestFlow> = {
  createRecord: {
    tests: [
      ...expectAnswer(201, 'application/json'),
      'const record = pm.response.json()',
      'pm.test(\'the record is version 1 of a new id, scored from its CVSS vector\', () => {',
      '  pm.expect(record.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)',
      '  pm.expect(record.version).to.equal(1)',
      '  pm.expect(record.status).to.equal(\'open\')',
      '  pm.expect(record.cvss.baseScore).to.equal(9.8)',
      '  pm.expect(record.severity).to.equal(\'critical\')',
      '})',
      'pm.test(\'Location names it and the ETag is its version\', () => {',
      '  pm.expect(pm.response.headers.get(\'Location\')).to.equal(`/v1/records/${record.id}`)',
      '  pm.expect(pm.response.headers.get(\'ETag\')).to.equal(\'"1"\')',
      '})',
      'pm.collectionVariables.set(\'recordId\', record.id)',
      'pm.collectionVariables.set(\'etag\', pm.response.headers.get(\'ETag\'))'
    ]
  },
  getRecord: {
    pathVariables: { id: '{{recordId}}' },
    tests: [
      ...expectAnswer(200, 'application/json'),
      'pm.test(\'it is the created record, with the same ETag\', () => {',
      '  pm.expect(pm.response.json()).to.include({ id: pm.collectionVariables.get(\'recordId\'), version: 1 })',
      '  pm.expect(pm.response.headers.get(\'ETag\')).to.equal(pm.collectionVariables.get(\'etag\'))',
      '})'
    ]
  },
  updateRecord: {
    pathVariables: { id: '{{recordId}}' },
    headers: { 'If-Match': '{{etag}}' },
    tests: [
      ...expectAnswer(200, 'application/json'),
      'const record = pm.response.json()',
      'pm.test(\'the patch is applied as version 2 with a new ETag\', () => {',
      '  pm.expect(record).to.include({ id: pm.collectionVariables.get(\'recordId\'), version: 2, status: \'triaged\', assignee: \'team-payments\' })',
      '  pm.expect(pm.response.headers.get(\'ETag\')).to.equal(\'"2"\')',
      '})',
      'pm.collectionVariables.set(\'etag\', pm.response.headers.get(\'ETag\'))'
    ]
  },
  getRecordHistory: {
    pathVariables: { id: '{{recordId}}' },
    tests: [
      ...expectAnswer(200, 'application/json'),
      'pm.test(\'the history lists the change, then the create\', () => {',
      '  const page = pm.response.json()',
      '  pm.expect(page.items.map((entry) => `${entry.version} ${entry.action}`)).to.eql([\'2 updated\', \'1 created\'])',
      '  pm.expect(page.items[0].changes.map((change) => change.path)).to.include(\'/status\')',
      '  pm.expect(page.nextCursor).to.equal(null)',
      '})'
    ]
  },
  listRecords: {
    query: { status: 'open,triaged', severity: 'critical,high' },
    tests: [
      ...expectAnswer(200, 'application/json'),
      'pm.test(\'the triaged critical record is on the first page, newest first\', () => {',
      '  const page = pm.response.json()',
      '  pm.expect(page.items.map((record) => record.id)).to.include(pm.collectionVariables.get(\'recordId\'))',
      '  page.items.forEach((record) => pm.expect([\'open\', \'triaged\']).to.include(record.status))',
      '  pm.expect(page).to.have.property(\'nextCursor\')',
      '})'
    ]
  },
  deleteRecord: {
    pathVariables: { id: '{{recordId}}' },
    headers: { 'If-Match': '{{etag}}' },
    tests: [
      'pm.test(\'answers 204 without a body\', () => {',
      '  pm.response.to.have.status(204)',
      '  pm.expect(pm.response.text()).to.equal(\'\')',
      '})',
      'pm.test(\'the record is gone\', (done) => {',
      '  pm.sendRequest({',
      '    url: pm.variables.replaceIn(\'{{baseUrl}}/v1/records/{{recordId}}\'),',
      '    header: { Authorization: `Bearer ${pm.collectionVariables.get(\'accessToken\')}` }',
      '  }, (error, response) => {',
      '    pm.expect(error).to.equal(null)',
      '    pm.expect(response.code).to.equal(404)',
      '    done()',
      '  })',
      '})',
      'pm.collectionVariables.unset(\'recordId\')',
      'pm.collectionVariables.unset(\'etag\')'
    ]
  },
  importReport: {
    // A minimal SARIF 2.1.0 log with one result: imported again, it changes nothing.
    body: JSON.stringify({
      version: '2.1.0',
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      runs: [{
        tool: { driver: { name: 'postman-demo', version: '1.0.0', rules: [{ id: 'demo/hardcoded-secret', shortDescription: { text: 'Hard-coded secret' } }] } },
        results: [{ ruleId: 'demo/hardcoded-secret', level: 'error', message: { text: 'A secret is written in the source' }, partialFingerprints: { primaryLocationLineHash: 'postman-demo-1' }, locations: [{ physicalLocation: { artifactLocation: { uri: 'src/config.js' }, region: { startLine: 3 } } }] }]
      }]
    }, null, 2),
    tests: [
      // A report of at most 100 results is applied before the answer (201); a larger one is queued (202).
      ...expectAnswer(201, 'application/json'),
      'const started = pm.response.json()',
      'pm.test(\'Location names the import\', () => pm.expect(pm.response.headers.get(\'Location\')).to.equal(`/v1/imports/${started.id}`))',
      'pm.collectionVariables.set(\'importId\', started.id)'
    ]
  },
  getImport: {
    pathVariables: { id: '{{importId}}' },
    tests: [
      ...expectAnswer(200, 'application/json'),
      'pm.test(\'it is the import just sent, with its counts\', () => {',
      '  const report = pm.response.json()',
      '  pm.expect(report.id).to.equal(pm.collectionVariables.get(\'importId\'))',
      '  pm.expect(report.status).to.be.oneOf([\'queued\', \'running\', \'succeeded\'])',
      '  pm.expect(report.counts).to.have.property(\'results\')',
      '})',
      'pm.collectionVariables.unset(\'importId\')'
    ]
  },
  applyVex: {
    // A statement about a vulnerability no record names: counted and listed, nothing changed.
    body: JSON.stringify({
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://example.com/vex/postman-demo',
      author: 'postman-demo',
      timestamp: '2026-12-06T12:00:00Z',
      version: 1,
      statements: [{ vulnerability: { name: 'CVE-2099-0001' }, products: [{ '@id': 'pkg:npm/postman-demo@1.0.0' }], status: 'fixed' }]
    }, null, 2),
    tests: [
      ...expectAnswer(200, 'application/json'),
      'pm.test(\'the statement names no record: listed, nothing created\', () => {',
      '  const outcome = pm.response.json()',
      '  pm.expect(outcome.counts.statements).to.equal(1)',
      '  pm.expect(outcome.counts.unknown).to.equal(1)',
      '})'
    ]
  },
  getMetrics: {
    query: { window: '30d' },
    tests: [
      ...expectAnswer(200, 'application/json'),
      'pm.test(\'the figures of the tenant, with a trend of at least 90 days\', () => {',
      '  const figures = pm.response.json()',
      '  pm.expect(figures.window.days).to.equal(30)',
      '  pm.expect(figures.open.total).to.be.a(\'number\')',
      '  pm.expect(figures.trend.length).to.be.at.least(90)',
      '})'
    ]
  }
}

export const testScript = (lines: string[]) => script('test', lines)
