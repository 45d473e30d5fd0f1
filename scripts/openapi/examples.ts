/**
 * The examples of the OpenAPI document. Records and history entries are not written by hand:
 * they are what the record model itself makes of the example requests, so an example can only
 * show what the API really answers. A test validates every one against its schema.
 */
import type { ProblemCode } from '../../shared/errors.ts'
import { problemBody, type Problem } from '../../shared/http/problem.ts'
import { MAX_URL_LENGTH } from '../../shared/http/request-limits.ts'
import { diffRecords, historyActorOf, type RecordChange } from '../../shared/records/change.ts'
import { openvex } from '../../shared/exports/openvex.ts'
import { etagOf } from '../../shared/records/etag.ts'
import { applyRecordPatch, buildNewRecord, type Actor } from '../../shared/records/model.ts'
import { SecurityRecord, type RecordCreate, type RecordPatch } from '../../shared/records/schema.ts'
import { createCursorCodec } from '../../shared/api/cursor.ts'

export interface NamedExample<T> {
  summary: string
  description?: string
  value: T
}

const actor: Actor = { sub: 'local-admin', clientId: 'local-admin', tenant: 'local' }
const createdAt = new Date('2026-03-01T12:00:00.000Z')
const triagedAt = new Date('2026-03-02T09:30:00.000Z')

export const exampleRecordId = '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f'
export const exampleImportId = '01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e5f'

/** An import of a Semgrep report about web-shop, finished. */
export const finishedImport = {
  id: exampleImportId,
  status: 'succeeded',
  tool: { name: 'Semgrep OSS', version: '1.185.0' },
  scope: { tool: 'Semgrep OSS', category: '', asset: 'web-shop' },
  scopes: [{ tool: 'Semgrep OSS', category: '', asset: 'web-shop' }],
  asset: { name: 'web-shop', type: 'repository', environment: 'production' },
  counts: { results: 42, created: 3, updated: 1, unchanged: 37, resolved: 2, reopened: 1, rejected: 0, skipped: 0 },
  errors: [],
  createdAt: '2026-03-01T12:00:00.000Z',
  finishedAt: '2026-03-01T12:00:01.250Z',
  createdBy: 'client:local-admin'
}
export const queuedImport = { ...finishedImport, status: 'queued', counts: { ...finishedImport.counts, created: 0, updated: 0, unchanged: 0, resolved: 0, reopened: 0 }, finishedAt: null }
const otherRecordId = '01938f31-0c4d-7e5f-8a6b-1c2d3e4f5a6b'
const requestIds = { created: '3f0c2a9e-5d7b-4c1e-9a8f-6b2d4e1c7a90', triaged: '8b1e6d4c-2a9f-4e7b-b3c5-0d9a7f2e1c64' }

/**
 * Request bodies of `POST /v1/records`: the first one is what "Try it out" sends. None carries a
 * `fingerprint` (unique per tenant): every example can be sent again and again.
 */
export const createRecordRequests = {
  cvssScored: {
    summary: 'A vulnerability scored from its CVSS vector',
    description: 'No `severity`: the server scores the CVSS 3.1 vector (9.8) and derives `critical`, and with it a 7-day deadline. A scanner would add its `fingerprint` (e.g. `trivy:payments-api:CVE-2024-3094`) so that a second report of the same finding is a 409 naming the existing record.',
    value: {
      title: 'xz backdoor in liblzma',
      description: 'Malicious code in the upstream xz 5.6.0 and 5.6.1 release tarballs lets a remote attacker bypass sshd authentication.',
      category: 'vulnerability',
      cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      asset: { name: 'payments-api', type: 'service', environment: 'production', purl: 'pkg:deb/debian/xz-utils@5.6.1-1' },
      vulnerabilityIds: ['CVE-2024-3094'],
      cweIds: ['CWE-506'],
      references: ['https://nvd.nist.gov/vuln/detail/CVE-2024-3094'],
      tags: ['supply-chain', 'linux'],
      source: { tool: 'trivy', ruleId: 'CVE-2024-3094', scanId: 'scan-2026-03-01' }
    }
  },
  misconfiguration: {
    summary: 'A misconfiguration with an explicit severity',
    value: {
      title: 'Storage bucket allows public read',
      category: 'misconfiguration',
      severity: 'high',
      asset: { name: 'customer-exports', type: 'cloud_resource', environment: 'production' },
      tags: ['cloud', 'storage'],
      assignee: 'team-data',
      source: { tool: 'prowler', ruleId: 's3_bucket_public_access' }
    }
  }
} satisfies Record<string, NamedExample<RecordCreate>>

/** An OpenVEX 0.2.0 document, as `POST /v1/vex` takes it. */
export const applyVexRequests = {
  openvex: {
    summary: 'An OpenVEX statement: not affected',
    description: 'Applied to the records naming CVE-2021-23337 whose component is lodash 4.17.20 in the shop image.',
    value: {
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://example.com/vex/shop-2026-12',
      author: 'Shop Security <security@example.com>',
      timestamp: '2026-12-06T12:00:00Z',
      version: 1,
      statements: [
        {
          vulnerability: { name: 'CVE-2021-23337' },
          products: [{ '@id': 'pkg:oci/shop', subcomponents: [{ '@id': 'pkg:npm/lodash@4.17.20' }] }],
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
          impact_statement: 'template() is never called with user input'
        },
        { vulnerability: { name: 'CVE-2099-0001' }, products: [{ '@id': 'pkg:npm/left-pad@1.0.0' }], status: 'fixed' }
      ]
    }
  }
}

export const vexOutcome = {
  id: '01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e60',
  format: 'openvex',
  document: { id: 'https://example.com/vex/shop-2026-12', author: 'Shop Security <security@example.com>' },
  counts: { statements: 2, matched: 1, applied: 1, unchanged: 0, refused: 0, unknown: 1, ignored: 0 },
  refused: [],
  unknown: [{ path: '/statements/1', vulnerability: 'CVE-2099-0001', products: ['pkg:npm/left-pad@1.0.0'] }],
  ignored: []
}

/** A SARIF 2.1.0 log with one result, as `POST /v1/imports` takes it (what "Try it out" sends). */
export const importReportRequests = {
  semgrep: {
    summary: 'A Semgrep report with one finding',
    description: 'Sent again as it is, the import finds the same finding by its fingerprint and changes nothing (`unchanged: 1`).',
    value: {
      version: '2.1.0',
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      runs: [{
        tool: {
          driver: {
            name: 'Semgrep OSS',
            semanticVersion: '1.185.0',
            rules: [{
              id: 'javascript.express.security.audit.xss.direct-response-write',
              shortDescription: { text: 'Direct response write of user input' },
              properties: { 'security-severity': '7.5', tags: ['external/cwe/cwe-79'] }
            }]
          }
        },
        results: [{
          ruleId: 'javascript.express.security.audit.xss.direct-response-write',
          level: 'error',
          message: { text: 'User input reaches res.send() without escaping.' },
          locations: [{ physicalLocation: { artifactLocation: { uri: 'src/routes/search.js' }, region: { startLine: 42 } } }],
          partialFingerprints: { primaryLocationLineHash: '5d2f8a1c9e0b7d34:1' }
        }]
      }]
    }
  }
} satisfies Record<string, NamedExample<unknown>>

/** Merge patches of `PATCH /v1/records/{id}`, each applicable to the created example record. */
export const updateRecordRequests = {
  triage: {
    summary: 'Triage and assign',
    value: { status: 'triaged', assignee: 'team-payments' }
  },
  falsePositive: {
    summary: 'Close as a false positive (needs a reason)',
    value: { status: 'false_positive', statusReason: 'The affected xz version is not installed in the production image.' }
  },
  removeFields: {
    summary: 'Remove optional fields with null',
    value: { tags: null, description: null }
  }
} satisfies Record<string, NamedExample<RecordPatch>>

/** A record with its fields in the order the response serializer writes them (the schema's). */
const asSent = (record: SecurityRecord): SecurityRecord => Object.fromEntries(
  Object.keys(SecurityRecord.properties).filter((key) => key in record).map((key) => [key, record[key as keyof SecurityRecord]])
) as SecurityRecord

/** Version 1 of the record, as `POST` returns it for the first create example. */
export const createdRecord = asSent(buildNewRecord(createRecordRequests.cvssScored.value, exampleRecordId, { actor, now: createdAt }))

/** Version 2, after the triage patch. */
export const triagedRecord = asSent(applyRecordPatch(createdRecord, updateRecordRequests.triage.value, { actor, now: triagedAt }))

const historyEntry = (action: RecordChange['action'], record: SecurityRecord, before: SecurityRecord | undefined, requestId: string) => ({
  recordId: record.id,
  version: record.version,
  action,
  at: record.updatedAt,
  actor: historyActorOf(actor),
  requestId,
  changes: diffRecords(before, record)
})

/** A real cursor (signed with a key used for nothing else): the shape a client will see. */
const exampleCursor = createCursorCodec('openapi-example-cursor-secret-0123456789').encode(
  `${triagedRecord.createdAt}#${triagedRecord.id}`,
  { tenant: actor.tenant, filters: { order: 'desc', status: ['open', 'triaged'] } }
)

export const recordPage = { items: [triagedRecord], nextCursor: exampleCursor }

export const historyPage = {
  items: [
    historyEntry('updated', triagedRecord, createdRecord, requestIds.triaged),
    historyEntry('created', createdRecord, undefined, requestIds.created)
  ],
  nextCursor: null
}

export const etags = { created: etagOf(createdRecord), triaged: etagOf(triagedRecord) }

/** What each error status says, per operation where the cause differs. */
const problemCauses: Record<number, { code: ProblemCode, detail: string, extra?: Partial<Problem> }> = {
  400: {
    code: 'SR_INVALID_REQUEST',
    detail: 'Invalid body: 2 problems',
    extra: {
      errors: [
        { path: '/severity', message: 'must be one of: critical, high, medium, low, info', in: 'body' },
        { path: '/createdAt', message: 'is set by the server and cannot be written', in: 'body' }
      ]
    }
  },
  401: { code: 'SR_INVALID_TOKEN', detail: 'This request needs an access token (Authorization: Bearer <token>)' },
  403: { code: 'SR_INSUFFICIENT_SCOPE', detail: 'This operation needs the scope records:write' },
  404: { code: 'SR_NOT_FOUND', detail: `No record with id ${exampleRecordId}` },
  409: { code: 'SR_ILLEGAL_TRANSITION', detail: 'A record cannot move from status resolved to triaged; allowed: open' },
  413: { code: 'SR_BODY_TOO_LARGE', detail: 'Request body is too large' },
  415: { code: 'SR_UNSUPPORTED_MEDIA_TYPE', detail: 'Unsupported Media Type: text/plain' },
  412: { code: 'SR_PRECONDITION_FAILED', detail: 'If-Match does not match the current version of the record (current ETag "3")' },
  414: { code: 'SR_URI_TOO_LONG', detail: `The request target is longer than ${MAX_URL_LENGTH} characters` },
  422: { code: 'SR_IDEMPOTENCY_KEY_REUSED', detail: 'This Idempotency-Key was used with a different request body' },
  428: { code: 'SR_PRECONDITION_REQUIRED', detail: 'This request needs an If-Match header with the record\'s current ETag' },
  429: { code: 'SR_RATE_LIMITED', detail: 'Too many requests; retry after the time in Retry-After' },
  // Refused by Node's HTTP parser, before there is a request whose path could be named.
  431: { code: 'SR_HEADERS_TOO_LARGE', detail: 'The request line and headers are larger than this server accepts', extra: { instance: '/' } },
  503: { code: 'SR_STORE_UNAVAILABLE', detail: 'The record store is unavailable; retry later' }
}

const operationCauses: Record<string, Record<number, { code: ProblemCode, detail: string, extra?: Partial<Problem> }>> = {
  createRecord: {
    409: { code: 'SR_DUPLICATE_FINGERPRINT', detail: `Another record of this tenant has this fingerprint: ${otherRecordId}`, extra: { existingRecordId: otherRecordId } }
  },
  listRecords: {
    400: { code: 'SR_INVALID_CURSOR', detail: 'The cursor belongs to a different query; send the same filters and order as the request that returned it' },
    404: { code: 'SR_NO_VEX_STATEMENTS', detail: openvex.needsAnItem! },
    406: { code: 'SR_NOT_ACCEPTABLE', detail: 'Accept allows none of the media types this list is answered with: application/json, text/csv, application/openvex+json, application/vnd.cyclonedx+json, application/sarif+json' }
  },
  applyVex: {
    400: { code: 'SR_INVALID_JSON', detail: 'The report is not valid JSON: expected , or } at character 412' },
    413: { code: 'SR_BODY_TOO_LARGE', detail: 'The report is larger than 64 MiB; split it by run or category' },
    422: { code: 'SR_INVALID_REPORT', detail: '/@context: must be "https://openvex.dev/ns/v0.2.0"', extra: { errors: [{ path: '/@context', message: 'must be "https://openvex.dev/ns/v0.2.0"' }] } }
  },
  getRecordHistory: {
    403: { code: 'SR_INSUFFICIENT_SCOPE', detail: 'This operation needs the scope records:read' }
  },
  getRecord: {
    403: { code: 'SR_INSUFFICIENT_SCOPE', detail: 'This operation needs the scope records:read' }
  },
  deleteRecord: {
    403: { code: 'SR_INSUFFICIENT_SCOPE', detail: 'This operation needs the scope records:delete' }
  },
  importReport: {
    400: { code: 'SR_INVALID_JSON', detail: 'The report is not valid JSON: expected , or } at character 1043' },
    413: { code: 'SR_BODY_TOO_LARGE', detail: 'The report is larger than 64 MiB; split it by run or category' },
    422: { code: 'SR_INVALID_REPORT', detail: '/version: must be "2.1.0" (got "2.0.0")', extra: { errors: [{ path: '/version', message: 'must be "2.1.0" (got "2.0.0")' }] } }
  },
  getImport: {
    403: { code: 'SR_INSUFFICIENT_SCOPE', detail: 'This operation needs the scope records:read' },
    404: { code: 'SR_NOT_FOUND', detail: `No import with id ${exampleImportId}` }
  }
}

/** The problem an operation answers with `status`, for a request to `instance`. */
export function problemExample (operationId: string, status: number, instance: string): Problem {
  const requestId = '5c7e9a1b-3d2f-4e6a-8b0c-9d1e2f3a4b5c'
  const cause = operationCauses[operationId]?.[status] ?? problemCauses[status]
  if (!cause) throw new Error(`no problem example for ${operationId} ${status}`)
  return { ...problemBody({ url: instance, id: requestId }, cause.code, cause.detail), ...cause.extra }
}
