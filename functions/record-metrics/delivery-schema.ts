import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'

/** `POST /`: the record events Trigger's deliveries (cluster-internal, not in the API document). */
export const recordDeliverySchema = {
  hide: true,
  summary: 'Broker delivery of a record event',
  description: 'A `record.created`, `.updated` or `.deleted` CloudEvent (binary or structured mode), counted into the tenant\'s metrics. Only the broker may deliver (Knative Eventing OIDC sender identity).',
  tags: ['events'],
  response: {
    200: Type.Object({ outcome: Type.Enum(['applied', 'stale']), id: Type.String(), version: Type.Integer() }),
    ...problemResponses(400, 401, 413, 415, 503)
  }
}
