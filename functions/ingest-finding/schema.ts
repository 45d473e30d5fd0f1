import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { FindingReport } from '../../shared/records/ingest-rules.ts'

const IngestResult = Type.Object({
  outcome: Type.Enum(['created', 'updated', 'unchanged']),
  id: Type.String(),
  version: Type.Integer()
})

const cloudEventDescription = 'A `com.mediamarktsaturn.security.finding.reported` CloudEvent (binary or structured mode) with a record body with a `fingerprint` as data. Creates the record, or applies the re-report rules to the record with that fingerprint.'

/** `POST /v1/findings`: the producer path scanners use. */
export const reportFindingSchema = {
  operationId: 'reportFinding',
  summary: 'Report a scanner finding',
  description: 'A record body with a `fingerprint`, reported for the tenant of the access token and under its identity (never a tenant named in the body or a header). Published to the broker (the cluster\'s, or the local stack\'s), stamped with that identity, and applied by `ingest-finding` (202 with the event id; what became of it is in the record\'s history, failures in the dead-letter sink). Where the function runs without a broker (no `K_SINK`) it is applied at once (200).',
  tags: ['events'],
  body: FindingReport,
  response: {
    200: { description: 'Applied at once (no broker).', content: { 'application/json': { schema: IngestResult } } },
    202: { description: 'Published to the broker.', content: { 'application/json': { schema: Type.Object({ eventId: Type.String() }) } } },
    ...problemResponses(400, 401, 403, 409, 413, 415, 429, 503)
  }
}

/** `POST /`: the findings Trigger's deliveries (cluster-internal, not in the API document). */
export const brokerDeliverySchema = {
  hide: true,
  summary: 'Broker delivery of a reported finding',
  description: `${cloudEventDescription} Only the broker may deliver (Knative Eventing OIDC sender identity); the tenant and the reporter are the \`tenant\`, \`producer\` and \`producerclient\` extensions stamped by \`POST /v1/findings\`.`,
  tags: ['events'],
  response: {
    200: IngestResult,
    ...problemResponses(400, 401, 409, 413, 415, 503)
  }
}

/** `POST /events/findings`: the local stack's CloudEvent path. */
export const localFindingSchema = {
  operationId: 'ingestFinding',
  summary: 'Receive a scanner finding (CloudEvent, local stack)',
  description: `${cloudEventDescription} Needs an access token with \`records:write\`: the finding is written to the token's tenant under its identity; a \`tenant\` extension naming another tenant is a 403.`,
  tags: ['events'],
  response: {
    200: IngestResult,
    ...problemResponses(400, 401, 403, 409, 413, 415, 429, 503)
  }
}
