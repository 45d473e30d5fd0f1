import { createHash } from 'node:crypto'
import type { ImportState } from '../store/imports-repository.ts'

/**
 * The record id of a result: a UUIDv7 whose time is the import's and whose random bits come from
 * the import and the fingerprint, so a retry writes the same record (the insert is conditional).
 */
export function importRecordId (state: Pick<ImportState, 'id' | 'createdAt'>, fingerprint: string): string {
  const bytes = Buffer.alloc(16)
  bytes.writeUIntBE(Date.parse(state.createdAt), 0, 6)
  createHash('sha256').update(`${state.id}\n${fingerprint}`).digest().copy(bytes, 6, 0, 10)
  bytes[6] = 0x70 | (bytes[6]! & 0x0f)
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
