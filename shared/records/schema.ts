import { Type, type Static, type TSchema } from 'typebox'
import { assetTypes, categories, environments, severities, statuses } from './vocabulary.ts'

const strict = { additionalProperties: false } as const

/** Makes an optional field removable by merge patch: `null` deletes it (RFC 7396). */
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/**
 * A page's `nextCursor`: a string, or `null` on the last page. One `type` array, not `anyOf`: for
 * an `anyOf` in a response schema fast-json-stringify builds an Ajv of its own to pick the branch
 * (the time and memory of list-records' first page: bench/README.md, RSS); a `type` array it serializes with a
 * `typeof`. Same instances valid either way (JSON Schema 2020-12 §6.1.1, OpenAPI 3.1).
 */
export const NextCursor = (description: string) => Type.Unsafe<string | null>({ type: ['string', 'null'], description })

const NonBlank = (maxLength: number, options: Record<string, unknown> = {}) =>
  Type.String({ minLength: 1, maxLength, pattern: '\\S', ...options })

export const RecordId = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
  description: 'Record id (UUIDv7, lower case).',
  examples: ['01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f']
})

const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 timestamp, UTC.' })

export const Category = Type.Enum([...categories], { description: 'What kind of finding this is.' })
export const Severity = Type.Enum([...severities], { description: 'How bad it is; derived from `cvss` when not given.' })
export const Status = Type.Enum([...statuses], { description: 'Where the finding is in its workflow.' })

const CvssInput = Type.Object({
  vector: Type.String({ minLength: 1, maxLength: 255, description: 'CVSS 3.0, 3.1 or 4.0 vector string.', examples: ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'] })
}, strict)

const Cvss = Type.Object({
  vector: Type.String(),
  version: Type.Enum(['3.0', '3.1', '4.0']),
  baseScore: Type.Number({ minimum: 0, maximum: 10 }),
  severity: Severity
}, { ...strict, description: 'The vector as sent, with the version, base score and severity the server computed.' })

const AssetFields = {
  name: NonBlank(200, { description: 'Name of the affected asset (service, host, image, repository, …).' }),
  type: Type.Enum([...assetTypes]),
  environment: Type.Enum([...environments]),
  purl: Type.String({ minLength: 5, maxLength: 1000, pattern: '^pkg:[a-zA-Z][a-zA-Z0-9.+-]*/', description: 'Package URL of the affected component.' })
}
const Asset = Type.Object({
  name: AssetFields.name,
  type: AssetFields.type,
  environment: Type.Optional(AssetFields.environment),
  purl: Type.Optional(AssetFields.purl)
}, strict)

const ComponentFields = {
  name: NonBlank(300, { description: 'Name of the component (package, library, image layer) the finding is in.' }),
  version: Type.String({ minLength: 1, maxLength: 200, description: 'Version of the component.' }),
  purl: AssetFields.purl
}
const Component = Type.Object({
  purl: Type.Optional(ComponentFields.purl),
  name: ComponentFields.name,
  version: Type.Optional(ComponentFields.version)
}, { ...strict, description: 'The component of the asset the finding is in (a dependency of a service, a package of an image), as an SBOM names it.' })

const RiskAcceptanceFields = {
  expiresAt: Type.String({ format: 'date-time', description: 'When the acceptance ends; in the future, at most 365 days ahead.' }),
  approvedBy: NonBlank(200, { description: 'Who accepted the risk.' })
}
const RiskAcceptance = Type.Object(RiskAcceptanceFields, strict)

const SourceFields = {
  tool: NonBlank(100, { description: 'The scanner or person that reported the finding.' }),
  ruleId: Type.String({ minLength: 1, maxLength: 200 }),
  scanId: Type.String({ minLength: 1, maxLength: 200 })
}
const Source = Type.Object({
  tool: SourceFields.tool,
  ruleId: Type.Optional(SourceFields.ruleId),
  scanId: Type.Optional(SourceFields.scanId)
}, strict)

const VulnerabilityIds = Type.Array(Type.String({
  maxLength: 100,
  pattern: '^(CVE-[0-9]{4}-[0-9]{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|(?!CVE-|GHSA-)[A-Z][A-Z0-9]{1,15}(-[A-Za-z0-9._]+)+)$',
  description: 'CVE, GHSA or another OSV-style id.'
}), { maxItems: 50, uniqueItems: true, examples: [['CVE-2024-3094']] })
const CweIds = Type.Array(Type.String({ pattern: '^CWE-[1-9][0-9]{0,5}$' }), { maxItems: 20, uniqueItems: true })
const References = Type.Array(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }), { maxItems: 50, uniqueItems: true })
const Tags = Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9._:-]{0,62}$' }), { maxItems: 20, uniqueItems: true })

/** The fields a client writes, each with its rule (README "The record and its workflow"). */
const writable = {
  title: NonBlank(300, { description: 'One-line summary.' }),
  description: Type.String({ maxLength: 20000, description: 'Markdown.' }),
  category: Category,
  severity: Severity,
  cvss: CvssInput,
  status: Status,
  statusReason: Type.String({ minLength: 1, maxLength: 2000, description: 'Why the status was set; required for false_positive, not_affected, accepted_risk and duplicate.' }),
  duplicateOf: RecordId,
  riskAcceptance: RiskAcceptance,
  asset: Asset,
  component: Component,
  vulnerabilityIds: VulnerabilityIds,
  cweIds: CweIds,
  references: References,
  tags: Tags,
  assignee: Type.String({ minLength: 1, maxLength: 200 }),
  fingerprint: Type.String({ minLength: 1, maxLength: 256, description: 'Scanner dedup key, unique per tenant.' }),
  source: Source
}

/** The body of `POST /v1/records`. */
export const RecordCreate = Type.Object({
  title: writable.title,
  description: Type.Optional(writable.description),
  category: writable.category,
  severity: Type.Optional(writable.severity),
  cvss: Type.Optional(writable.cvss),
  status: Type.Optional(writable.status),
  statusReason: Type.Optional(writable.statusReason),
  duplicateOf: Type.Optional(writable.duplicateOf),
  riskAcceptance: Type.Optional(writable.riskAcceptance),
  asset: writable.asset,
  component: Type.Optional(writable.component),
  vulnerabilityIds: Type.Optional(writable.vulnerabilityIds),
  cweIds: Type.Optional(writable.cweIds),
  references: Type.Optional(writable.references),
  tags: Type.Optional(writable.tags),
  assignee: Type.Optional(writable.assignee),
  fingerprint: Type.Optional(writable.fingerprint),
  source: Type.Optional(writable.source)
}, { ...strict, description: 'A new security record.' })

/** The body of `PATCH /v1/records/{id}`: a JSON merge patch (RFC 7396) of the writable fields. */
export const RecordPatch = Type.Object({
  title: Type.Optional(writable.title),
  description: Type.Optional(Nullable(writable.description)),
  category: Type.Optional(writable.category),
  severity: Type.Optional(Nullable(writable.severity)),
  cvss: Type.Optional(Nullable(writable.cvss)),
  status: Type.Optional(writable.status),
  statusReason: Type.Optional(Nullable(writable.statusReason)),
  duplicateOf: Type.Optional(Nullable(writable.duplicateOf)),
  riskAcceptance: Type.Optional(Nullable(Type.Object({
    expiresAt: Type.Optional(RiskAcceptanceFields.expiresAt),
    approvedBy: Type.Optional(RiskAcceptanceFields.approvedBy)
  }, strict))),
  asset: Type.Optional(Type.Object({
    name: Type.Optional(AssetFields.name),
    type: Type.Optional(AssetFields.type),
    environment: Type.Optional(Nullable(AssetFields.environment)),
    purl: Type.Optional(Nullable(AssetFields.purl))
  }, strict)),
  component: Type.Optional(Nullable(Type.Object({
    purl: Type.Optional(Nullable(ComponentFields.purl)),
    name: Type.Optional(ComponentFields.name),
    version: Type.Optional(Nullable(ComponentFields.version))
  }, strict))),
  vulnerabilityIds: Type.Optional(Nullable(writable.vulnerabilityIds)),
  cweIds: Type.Optional(Nullable(writable.cweIds)),
  references: Type.Optional(Nullable(writable.references)),
  tags: Type.Optional(Nullable(writable.tags)),
  assignee: Type.Optional(Nullable(writable.assignee)),
  fingerprint: Type.Optional(Nullable(writable.fingerprint)),
  source: Type.Optional(Nullable(Type.Object({
    tool: Type.Optional(SourceFields.tool),
    ruleId: Type.Optional(Nullable(SourceFields.ruleId)),
    scanId: Type.Optional(Nullable(SourceFields.scanId))
  }, strict)))
}, { ...strict, minProperties: 1, description: 'Changes to a record (JSON merge patch); `null` removes an optional field.' })

const { cvss: _cvssInput, severity: _optionalSeverity, status: _optionalStatus, ...writtenByClients } = RecordCreate.properties

/** A stored record as the API returns it; the tenant and the store's keys are never part of it. */
export const SecurityRecord = Type.Object({
  id: RecordId,
  version: Type.Integer({ minimum: 1, description: 'Starts at 1, +1 per change; the ETag is derived from it.' }),
  ...writtenByClients,
  severity: writable.severity,
  cvss: Type.Optional(Cvss),
  status: writable.status,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  statusChangedAt: Timestamp,
  createdBy: Type.String({ description: 'Token `sub` of the creator.' }),
  updatedBy: Type.String({ description: 'Token `sub` of the last writer.' }),
  dueAt: Type.Optional(Type.String({ format: 'date-time', description: 'Remediation deadline from the severity SLA (critical 7 d, high 30 d, medium 90 d, low 180 d; none for info).' }))
}, { additionalProperties: false, description: 'A security record.' })

export type RecordCreate = Static<typeof RecordCreate>
export type RecordPatch = Static<typeof RecordPatch>
export type SecurityRecord = Static<typeof SecurityRecord>

export const RecordPage = Type.Object({
  items: Type.Array(SecurityRecord),
  nextCursor: NextCursor('Opaque; pass as `cursor` with the same filters for the next page. `null` on the last page.')
}, { description: 'One page of records.' })
