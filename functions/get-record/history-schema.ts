import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { RecordParams } from '../../shared/api/record-reply.ts'
import { NextCursor } from '../../shared/records/schema.ts'

const FieldChange = Type.Object({
  path: Type.String({ description: 'JSON Pointer of the changed field.', examples: ['/status'] }),
  from: Type.Unknown({ description: 'Value before (null when absent).' }),
  to: Type.Unknown({ description: 'Value after (null when removed).' })
})

export const HistoryEntry = Type.Object({
  recordId: Type.String({ description: 'The record this change belongs to.' }),
  version: Type.Integer({ minimum: 1, description: 'The record version this change produced.' }),
  action: Type.Enum(['created', 'updated', 'deleted']),
  at: Type.String({ format: 'date-time', description: 'When the change was committed.' }),
  actor: Type.Object({
    type: Type.Enum(['user', 'client'], { description: '`user`: a person who signed in through a client; `client`: a client acting for itself (client credentials).' }),
    id: Type.String({ description: 'Token `sub` of the writer: the person, or the client.' }),
    name: Type.Optional(Type.String({ description: 'The person\'s display name, when known.' })),
    clientId: Type.String({ description: 'OAuth client the writer used.' })
  }, { description: 'Who made the change and through which client.' }),
  requestId: Type.String({ description: 'The request that made the change, as the server named it (the `X-Request-Id` of its answer, the `requestId` of its problems).' }),
  clientRequestId: Type.Optional(Type.String({ maxLength: 128, description: 'The id the caller gave the request, if any: its `X-Request-Id` (8–128 of `A-Za-z0-9._:-`), or the CloudEvent `id` of a reported finding.' })),
  changes: Type.Array(FieldChange, { description: 'One entry per changed field.' })
})

export const recordHistorySchema = {
  operationId: 'getRecordHistory',
  summary: 'Read a record\'s audit history',
  description: 'Every committed change of the record, newest first: who (token `sub` and client), when, in which request, and each changed field with its old and new value. The history of a deleted record stays readable.',
  tags: ['records'],
  params: RecordParams,
  querystring: Type.Object({
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 25, description: 'Page size.' }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'The `nextCursor` of the previous page.' }))
  }, { additionalProperties: false }),
  response: {
    200: {
      description: 'One page of history.',
      content: { 'application/json': { schema: Type.Object({ items: Type.Array(HistoryEntry), nextCursor: NextCursor('Opaque; pass as `cursor` for the next (older) page. `null` on the last page.') }, { description: 'One page of a record\'s history, newest first.' }) } }
    },
    ...problemResponses(400, 401, 403, 404, 429, 503)
  }
}
