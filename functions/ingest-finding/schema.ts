import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'

export const ingestFindingSchema = {
  operationId: 'ingestFinding',
  summary: 'Receive a scanner finding (CloudEvent)',
  description: 'A `com.mediamarktsaturn.security.finding.reported` CloudEvent (binary or structured mode) with a `tenant` extension and a record body with a `fingerprint` as data. Creates the record, or applies the re-report rules to the record with that fingerprint.',
  tags: ['events'],
  response: {
    200: Type.Object({
      outcome: Type.Enum(['created', 'updated', 'unchanged']),
      id: Type.String(),
      version: Type.Integer()
    }),
    ...problemResponses(400, 409, 413, 415, 503)
  }
}
