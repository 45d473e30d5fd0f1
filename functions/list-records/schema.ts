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
    200: { description: 'One page.', content: { 'application/json': { schema: RecordPage } } },
    ...problemResponses(400, 401, 403, 429, 503)
  }
}
