import { Type, type Static } from 'typebox'
import { RecordCreate, RecordId } from './schema.ts'

/** A scanner report import as the API shows it (`GET /v1/imports/{id}`). */

export const importStatuses = ['queued', 'running', 'succeeded', 'failed'] as const
export type ImportStatus = typeof importStatuses[number]

export const ImportId = Type.String({ ...RecordId, description: 'Import id (UUIDv7, lower case).', examples: ['01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e5f'] })

export const ImportScope = Type.Object({
  tool: Type.String({ description: 'The run\'s `tool.driver.name`.' }),
  category: Type.String({ description: 'The analysis category: `automationDetails.id` up to its last `/`, else the `category` query parameter, else empty.' }),
  asset: Type.String({ description: 'The asset name the report is about.' })
}, { additionalProperties: false, description: 'Re-import semantics hold per scope: tenant, tool, category, and the import\'s asset (its name, type and environment together).' })
/** What re-import semantics are scoped by, besides the tenant: the tool, the analysis category, the asset. */
export type ImportScope = Static<typeof ImportScope>
/** A scope as a run names it: its tool and category (the import's asset completes it). */
export type RunScope = Omit<ImportScope, 'asset'>
/** The asset an import is about (query parameters of `POST /v1/imports`). */
export type ImportAsset = RecordCreate['asset']

export const ImportCounts = Type.Object({
  results: Type.Integer({ minimum: 0, description: 'Results in the report.' }),
  created: Type.Integer({ minimum: 0, description: 'Results that created a record.' }),
  updated: Type.Integer({ minimum: 0, description: 'Results that changed their record.' }),
  unchanged: Type.Integer({ minimum: 0, description: 'Results whose record already said exactly this: nothing written.' }),
  resolved: Type.Integer({ minimum: 0, description: 'Records of the scope that this report no longer has, resolved by this import.' }),
  reopened: Type.Integer({ minimum: 0, description: 'Results whose record an import had resolved (or a suppression closed): reopened.' }),
  rejected: Type.Integer({ minimum: 0, description: 'Results that could not be recorded (`errors` says why).' }),
  skipped: Type.Integer({ minimum: 0, description: 'Results that are not findings: `kind` pass or notApplicable, `baselineState` absent.' })
}, { additionalProperties: false, description: 'results = created + updated + reopened + unchanged + rejected + skipped.' })
export type ImportCounts = Static<typeof ImportCounts>

export const ImportError = Type.Object({
  path: Type.String({ description: 'JSON Pointer into the report (`/runs/0/results/17`), or empty for the whole import.' }),
  message: Type.String()
}, { additionalProperties: false })
export type ImportError = Static<typeof ImportError>

export const ReportImport = Type.Object({
  id: ImportId,
  status: Type.Enum([...importStatuses], { description: 'queued → running → succeeded or failed.' }),
  tool: Type.Object({ name: Type.String(), version: Type.Optional(Type.String()) }, { additionalProperties: false, description: 'The first run\'s tool.' }),
  scope: ImportScope,
  scopes: Type.Array(ImportScope, { description: 'Every scope of the report (one per distinct tool and category of its runs).' }),
  asset: RecordCreate.properties.asset,
  counts: ImportCounts,
  errors: Type.Array(ImportError, { maxItems: 100, description: 'What went wrong: rejected results (the first 100), or why the import failed.' }),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When it succeeded or failed; null before.' }),
  createdBy: Type.String({ description: 'Token `sub` of whoever posted the report; the records\' history names them too.' })
}, { additionalProperties: false, description: 'A scanner report import.' })
export type ReportImport = Static<typeof ReportImport>

export const emptyCounts = (results: number): ImportCounts => ({ results, created: 0, updated: 0, unchanged: 0, resolved: 0, reopened: 0, rejected: 0, skipped: 0 })

/** At most this many errors are kept; the counts still say how many results were rejected. */
export const MAX_IMPORT_ERRORS = 100
