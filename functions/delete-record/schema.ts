import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { RecordParams } from '../../shared/api/record-reply.ts'

export const deleteRecordSchema = {
  operationId: 'deleteRecord',
  summary: 'Delete a record',
  description: 'Deletes the record. With `If-Match`, only if it is still that version (412 otherwise). Its fingerprint becomes free for a new record.',
  tags: ['records'],
  params: RecordParams,
  headers: Type.Object({
    'if-match': Type.Optional(Type.String({ maxLength: 1024, description: 'Delete only this version: exactly one strong ETag, as for PATCH (anything else, a list included, never matches: a 412 with the current `ETag`).' }))
  }),
  response: {
    204: { description: 'Deleted.', type: 'null' },
    ...problemResponses(400, 401, 403, 404, 412, 428, 429, 503)
  }
}
