import { Type, type Static } from 'typebox'

/** RFC 9457 problem details, the body of every error response. */
export const Problem = Type.Object({
  type: Type.String({ description: 'URI identifying the kind of problem.' }),
  title: Type.String({ description: 'Short summary of the kind of problem.' }),
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  detail: Type.String({ description: 'What went wrong with this request, for a human.' }),
  instance: Type.String({ description: 'The request path this problem occurred on.' }),
  requestId: Type.String({ description: 'Quote it when asking for help; it is in our logs.' }),
  errors: Type.Optional(Type.Array(Type.Object({
    path: Type.String({ description: 'JSON Pointer into the part of the request that is wrong.' }),
    message: Type.String(),
    in: Type.Optional(Type.Enum(['body', 'querystring', 'params', 'headers']))
  }), { description: 'One entry per invalid field (validation problems only).' })),
  existingRecordId: Type.Optional(Type.String({ description: 'The record that already holds the fingerprint (duplicate fingerprint only).' }))
}, { description: 'RFC 9457 problem details.' })

export type Problem = Static<typeof Problem>

export const PROBLEM_TYPE_BASE = 'https://mediamarktsaturn.github.io/security-records/problems/'
export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Response schemas for the error statuses a route can answer, all as problem+json. */
export function problemResponses (...statuses: number[]) {
  const responses: Record<number, { description: string, content: Record<string, { schema: typeof Problem }> }> = {}
  for (const status of statuses) responses[status] = { description: problemDescriptions[status] ?? 'Error', content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } }
  return responses
}

const problemDescriptions: Record<number, string> = {
  400: 'Invalid input: bad JSON, unknown or read-only field, bad query or cursor.',
  401: 'No access token, or one that is invalid, expired or revoked.',
  403: 'The access token lacks the scope this operation needs.',
  404: 'No record with this id in your tenant.',
  409: 'Conflict: illegal status transition or duplicate fingerprint.',
  412: 'If-Match does not match the record\'s current ETag.',
  413: 'Request body too large.',
  415: 'Unsupported content type.',
  422: 'Idempotency-Key reused with a different body.',
  428: 'If-Match is required.',
  429: 'Rate limited; see Retry-After.',
  500: 'Unexpected error (details are in the logs, under the request id).',
  503: 'The store is unavailable; see Retry-After.'
}
