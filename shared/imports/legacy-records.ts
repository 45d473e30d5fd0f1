import type { SecurityRecord } from '../records/schema.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { StoredRecord } from '../store/records-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import { importRecordId } from './import-record-id.ts'
import type { ImportAsset } from './report-format.ts'

/**
 * Records an import created before imports marked theirs (keys.ts, importOwnerAttribute) and
 * before the asset's type and environment were part of a scope: their fingerprint starts with the
 * scope's legacy prefix (import-scope.ts) and they carry no mark. A client can write such a
 * fingerprint, so the prefix proves nothing; the record id does: an import's record id is derived
 * from the import's id and time and the fingerprint (import-record-id.ts), and no
 * client chooses a record id. Such a record is resolved like a marked one while its asset is
 * exactly the import's, and the first import that reports it again takes it over (new fingerprint, mark).
 */
export async function isLegacyImportRecord (data: DataLayer, tenant: string, stored: StoredRecord, asset: ImportAsset): Promise<boolean> {
  const { record } = stored
  if (stored.deleted || stored.importScope !== undefined || !record.fingerprint || !sameAsset(record.asset, asset)) return false
  const createdAt = timeOfId(record.id)
  if (createdAt === undefined) return false
  const madeBy = (importId: string | undefined) => importId !== undefined && importRecordId({ id: importId, createdAt }, record.fingerprint!) === record.id
  // The import that created it: the last import that changed it, else the one its creation names.
  if (madeBy(record.source?.scanId)) return true
  if (record.version === 1) return madeBy(stored.change?.requestId.split(':')[0])
  const [creation] = (await data.history.list(tenant, record.id, 1, 2)).items
  return madeBy(creation?.requestId.split(':')[0])
}

/** A legacy record of this import's scope holding `fingerprint`, which the result reporting it takes over. */
export async function legacyRecordToTakeOver (data: DataLayer, state: Pick<ImportState, 'tenant' | 'asset'>, stored: StoredRecord | undefined, fingerprint: string): Promise<SecurityRecord | undefined> {
  if (!stored || stored.record.fingerprint !== fingerprint) return undefined
  return await isLegacyImportRecord(data, state.tenant, stored, state.asset) ? stored.record : undefined
}

function sameAsset (a: ImportAsset, b: ImportAsset): boolean {
  return a.name === b.name && a.type === b.type && (a.environment ?? null) === (b.environment ?? null)
}

/** The time a UUIDv7 carries (an import's record id carries its import's), as ISO text. */
function timeOfId (id: string): string | undefined {
  const hex = id.replaceAll('-', '').slice(0, 12)
  return /^[0-9a-f]{12}$/.test(hex) ? new Date(Number.parseInt(hex, 16)).toISOString() : undefined
}
