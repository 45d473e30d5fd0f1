import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { RecordCreate, SecurityRecord } from '../../shared/records/schema.ts'

export const createRecordSchema = {
  operationId: 'createRecord',
  summary: 'Record a security finding',
  description: 'Creates a record in the caller\'s tenant. Send an `Idempotency-Key` to make retries safe: the same key with the same body replays the original response (a 409 naming the record if it was deleted since: it is never created twice); with another body it is a 422. Titles and other text are stored verbatim, bidirectional and zero-width characters included: neutralise them when displaying.',
  tags: ['records'],
  headers: Type.Object({
    'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Makes the create safe to retry (kept 24 h).' }))
  }),
  body: RecordCreate,
  response: {
    201: { description: 'Created.', content: { 'application/json': { schema: SecurityRecord } } },
    ...problemResponses(400, 401, 403, 409, 413, 415, 422, 429, 503)
  }
}
