import { Type, type Static } from 'typebox'
import { problemTypes, type ProblemCode } from '../errors.ts'

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

/**
 * The body of every problem answer, from the functions, mock-auth and the gateway alike:
 * title, status and type from the one table, the detail for this request, the path it was on.
 */
export function problemBody (request: { url?: string, id: string }, code: ProblemCode, detail: string): Problem {
  const { status, title, slug } = problemTypes[code]
  return { type: `${PROBLEM_TYPE_BASE}${slug}`, title, status, detail, instance: (request.url ?? '/').split('?')[0] || '/', requestId: request.id }
}

/** Response schemas for the error statuses a route can answer, all as problem+json, described from the table. */
export function problemResponses (...statuses: number[]) {
  const responses: Record<number, { description: string, content: Record<string, { schema: typeof Problem }> }> = {}
  for (const status of statuses) responses[status] = { description: describeStatus(status), content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } }
  return responses
}

function describeStatus (status: number): string {
  const kinds = Object.values(problemTypes).filter((kind) => kind.status === status)
  if (kinds.length === 0) throw new Error(`no problem type has status ${status}`)
  return kinds.map((kind) => kind.description).join(' ')
}
