import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { ListQuery } from '../../shared/api/list-query.ts'
import { RecordPage } from '../../shared/records/schema.ts'

export const listRecordsSchema = {
  operationId: 'listRecords',
  summary: 'List records',
  description: 'Pages through the tenant\'s records, newest first by default. Filters combine with AND; `status` and `severity` take comma-separated values (any of). `nextCursor` continues the same query; a cursor sent with other filters, or altered, is a 400. A page may hold fewer than `limit` records and still have a `nextCursor`: keep going until it is `null`.',
  tags: ['records'],
  querystring: ListQuery,
  response: {
    200: {
      description: 'One page; or, as `Accept` asks, every record of the filter (from `cursor` on; `limit` aside) streamed as an export.',
      content: {
        'application/json': { schema: RecordPage },
        'text/csv': { schema: Type.String({ description: 'RFC 4180, a header row, one record per row; a cell a spreadsheet would run as a formula (starting with = + - @, tab or CR) starts with an apostrophe.' }) },
        'application/openvex+json': { schema: Type.String({ description: 'OpenVEX 0.2.0: a statement per decided record (not_affected, false_positive → not_affected, resolved → fixed, in_progress / accepted_risk → affected, triaged → under_investigation) naming a vulnerability id and a package URL. An OpenVEX document holds at least one statement: without a decision under the filter the answer is a 404 `no-vex-statements`, not a document.' }) },
        'application/vnd.cyclonedx+json': { schema: Type.String({ description: 'CycloneDX 1.6 VEX: a vulnerability per decided record, `analysis` its decision, `affects` its package URL.' }) },
        'application/sarif+json': { schema: Type.String({ description: 'SARIF 2.1.0 for GitHub code scanning: open, triaged and in-progress records with a code location (the `**Location:**` paragraph a SARIF import writes into the description; the record has no location field), rules with `security-severity` and CWE tags, fingerprints.' }) }
      }
    },
    ...problemResponses(400, 401, 403, 404, 406, 429, 503)
  }
}
