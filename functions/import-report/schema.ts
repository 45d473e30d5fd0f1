import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { reportFormats, reportMediaTypes } from '../../shared/imports/formats.ts'
import { ImportId, ReportImport } from '../../shared/records/report-import.ts'
import { RecordCreate } from '../../shared/records/schema.ts'

const { name, type, environment } = RecordCreate.properties.asset.properties

export const ImportQuery = Type.Object({
  asset: Type.String({ ...name, examples: ['web-shop'] }),
  assetType: Type.Enum(type.enum, { ...type, examples: ['repository'] }),
  environment: Type.Optional(Type.Enum(environment.enum, { ...environment, examples: ['production'] })),
  category: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Analysis category for runs whose `automationDetails.id` names none (like GitHub\'s `category`).', examples: ['/language:javascript'] }))
}, { additionalProperties: false })

const importResponse = (description: string) => ({ description, content: { 'application/json': { schema: ReportImport } } })

export const importReportSchema = {
  operationId: 'importReport',
  summary: `Import a scanner report (${reportFormats.map((format) => format.title).join(', ')})`,
  description: 'Takes a SARIF 2.1.0 log (`application/sarif+json` or `application/json`, optionally `Content-Encoding: gzip`; up to 16 MiB compressed, 64 MiB and 50 000 results uncompressed, 100 runs, 25 000 rules a run; what is kept of it is bounded, each bound a 413 or 422 naming it, and a result over its own bounds is rejected by name) about one asset. An instance receives a few reports at once, fewer of one tenant: beyond, a 503 or 429 with `Retry-After`. Each result becomes a record, deduplicated by fingerprint; re-importing a scope (tool, category, and the asset: its name, type and environment together) resolves the records an import of the scope created that it no longer reports, and reopens the ones it reports again, never overriding a person\'s decision. A rejected result still counts as reported; a result that cannot be identified (no rule) stops its scope from resolving anything. Imports of one scope apply one at a time, in the order received. Small reports (up to 100 results) are applied before the answer (201) when no earlier import of their scope is unfinished; otherwise they are queued (202): follow `Location`.',
  tags: ['imports'],
  consumes: [...reportMediaTypes],
  querystring: ImportQuery,
  // Documentation only: the handler reads the body as a stream (report-reader.ts checks it).
  body: Type.Unknown({ description: 'A SARIF 2.1.0 log (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/), as written by CodeQL, Semgrep, Trivy, Bandit, ESLint and others.' }),
  response: {
    201: importResponse('Imported: the finished import.'),
    202: importResponse('Received and queued: poll `Location` until `status` is succeeded or failed.'),
    ...problemResponses(400, 401, 403, 413, 415, 422, 429, 503)
  }
}

export const getImportSchema = {
  operationId: 'getImport',
  summary: 'Follow an import',
  description: 'The import\'s status, counts and errors. Another tenant\'s import is a 404, like a missing one.',
  tags: ['imports'],
  params: Type.Object({ id: ImportId }),
  response: {
    200: importResponse('The import.'),
    ...problemResponses(400, 401, 403, 404, 429, 503)
  }
}
