import { Type } from 'typebox'
import { problemResponses } from '../../shared/http/problem.ts'
import { reportFormats, reportMediaTypes } from '../../shared/imports/formats.ts'
import { vexMediaTypes } from '../../shared/imports/vex/vex-document.ts'
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
  description: 'Takes a SARIF 2.1.0 log (`application/sarif+json`) or a CycloneDX 1.4–1.6 JSON BOM with vulnerabilities (`application/vnd.cyclonedx+json`); as `application/json`, `bomFormat` says which. Optionally `Content-Encoding: gzip`; up to 16 MiB compressed, 64 MiB and 50 000 results uncompressed, 100 runs, 25 000 rules a run; what is kept of it is bounded, each bound a 413 or 422 naming it, and a result over its own bounds is rejected by name) about one asset. An instance receives a few reports at once, fewer of one tenant: beyond, a 503 or 429 with `Retry-After`. Each SARIF result, and each CycloneDX vulnerability × component it affects, becomes a record, deduplicated by fingerprint; re-importing a scope (tool, category, and the asset: its name, type and environment together) resolves the records an import of the scope created that it no longer reports, and reopens the ones it reports again, never overriding a person\'s decision. A rejected result still counts as reported; a result that cannot be identified (no rule) stops its scope from resolving anything. Imports of one scope apply one at a time, in the order received. Small reports (up to 100 results) are applied before the answer (201) when no earlier import of their scope is unfinished; otherwise they are queued (202): follow `Location`.',
  tags: ['imports'],
  consumes: [...reportMediaTypes],
  querystring: ImportQuery,
  // Documentation only: the handler reads the body as a stream (report-reader.ts checks it).
  body: Type.Unknown({ description: 'A SARIF 2.1.0 log (OASIS) or a CycloneDX 1.4–1.6 JSON BOM with `vulnerabilities`.' }),
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

const Listed = (item: Parameters<typeof Type.Object>[0], description: string) => Type.Array(Type.Object(item, { additionalProperties: false }), { maxItems: 100, description })

export const VexOutcome = Type.Object({
  id: Type.String({ description: 'Id of this application of the document; the records\' history carries it (`requestId` `vex:<id>:<statement>`).' }),
  format: Type.Enum(['openvex', 'cyclonedx']),
  document: Type.Object({ id: Type.Optional(Type.String()), author: Type.Optional(Type.String()) }, { additionalProperties: false, description: 'The document\'s `@id` / `serialNumber` and author, as the reasons it writes name them.' }),
  counts: Type.Object({
    statements: Type.Integer({ minimum: 0 }),
    matched: Type.Integer({ minimum: 0, description: 'Statements that named at least one record of the tenant.' }),
    applied: Type.Integer({ minimum: 0, description: 'Records changed.' }),
    unchanged: Type.Integer({ minimum: 0, description: 'Records that said so already.' }),
    refused: Type.Integer({ minimum: 0, description: 'Records whose workflow forbids the change: not applied.' }),
    unknown: Type.Integer({ minimum: 0, description: 'Statements naming no record of the tenant: nothing is created.' }),
    ignored: Type.Integer({ minimum: 0, description: 'Statements that say nothing this API applies (no status, no product).' })
  }, { additionalProperties: false }),
  refused: Listed({ path: Type.String(), recordId: Type.String(), message: Type.String() }, 'The first 100 refused changes.'),
  unknown: Listed({ path: Type.String(), vulnerability: Type.String(), products: Type.Array(Type.String()) }, 'The first 100 statements naming no record.'),
  ignored: Listed({ path: Type.String(), message: Type.String() }, 'The first 100 ignored statements.')
}, { additionalProperties: false, description: 'What a VEX document changed.' })

export const applyVexSchema = {
  operationId: 'applyVex',
  summary: 'Apply a VEX document (OpenVEX 0.2, CycloneDX VEX) to existing records',
  description: 'Each statement applies its decision to the tenant\'s records naming its vulnerability whose `component.purl` (or `asset.purl`; a purl without version matches every version; without purls, the name) is one of its products: `not_affected` → not_affected (the justification and impact statement as reason), `false_positive` → false_positive, `fixed` / `resolved` → resolved, `affected` / `exploitable` → reopened if closed, `under_investigation` / `in_triage` → triaged. Through the normal update path: a change the workflow forbids is listed, not applied; the reason names the document and its author. Nothing is created; statements naming no record are counted and listed.',
  tags: ['imports'],
  consumes: [...vexMediaTypes],
  body: Type.Unknown({ description: 'An OpenVEX 0.2 document (`application/openvex+json`) or a CycloneDX 1.4–1.6 VEX (`application/vnd.cyclonedx+json`); as `application/json` its `@context` or `bomFormat` says which.' }),
  response: {
    200: { description: 'Applied.', content: { 'application/json': { schema: VexOutcome } } },
    ...problemResponses(400, 401, 403, 413, 415, 422, 429, 503)
  }
}
