import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { RecordParams } from '../../shared/api/record-reply.ts'
import { SecurityRecord } from '../../shared/records/schema.ts'

export const getRecordSchema = {
  operationId: 'getRecord',
  summary: 'Read one record',
  description: 'Returns the record with its `ETag`. With `If-None-Match` naming the current ETag the answer is 304 without a body. A record of another tenant is a 404, exactly like one that does not exist.',
  tags: ['records'],
  params: RecordParams,
  headers: Type.Object({
    'if-none-match': Type.Optional(Type.String({ maxLength: 1024, description: 'ETag(s) the client already has.' }))
  }),
  response: {
    200: { description: 'The record.', content: { 'application/json': { schema: SecurityRecord } } },
    304: { description: 'Not modified: the client\'s copy is current.', type: 'null' },
    ...problemResponses(400, 401, 403, 404, 429, 503)
  }
}
