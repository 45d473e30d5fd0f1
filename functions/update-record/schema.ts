import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { RecordParams } from '../../shared/api/record-reply.ts'
import { RecordPatch, SecurityRecord } from '../../shared/records/schema.ts'

export const updateRecordSchema = {
  operationId: 'updateRecord',
  summary: 'Change a record',
  description: 'Applies a JSON merge patch (RFC 7396; `application/merge-patch+json` or `application/json`): fields present replace, `null` removes an optional field. `If-Match` with the record\'s current ETag is required, so no change is ever lost: a stale ETag is a 412. Status changes follow the workflow; anything else is a 409.',
  tags: ['records'],
  consumes: ['application/merge-patch+json', 'application/json'],
  params: RecordParams,
  headers: Type.Object({
    'if-match': Type.Optional(Type.String({ maxLength: 1024, description: 'The ETag of the version being changed (required): exactly one strong ETag. Anything else never matches (a list, a weak or unknown tag, a value that is no tag): a 412, whose `ETag` header is the current one.' }))
  }),
  body: RecordPatch,
  response: {
    200: { description: 'The changed record, with its new ETag.', content: { 'application/json': { schema: SecurityRecord } } },
    ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415, 428, 429, 503)
  }
}
