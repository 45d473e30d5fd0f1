import type { SecurityRecord } from '../records/schema.ts'

/** What an export knows of where it comes from: the tenant, when, its own id (for documents that need one). */
export interface ExportContext {
  tenant: string
  now: Date
  /** A UUID naming this export (`serialNumber`, `@id`). */
  id: string
}

/**
 * A format `GET /v1/records` answers with when `Accept` asks for it: the whole filtered list,
 * written as it is read, one record at a time. Text only: the route streams what it returns.
 */
export interface ExportFormat {
  /** The media type `Accept` names. */
  mediaType: string
  /** The `Content-Type` of the answer (parameters included). */
  contentType: string
  /** What the document starts with. */
  begin (context: ExportContext): string
  /**
   * A record's part of the document, or undefined when the format does not carry it (a VEX only
   * decisions about named vulnerabilities, SARIF only open findings with a code location).
   * `first` says whether anything was written before (a separator is owed otherwise).
   */
  item (record: SecurityRecord, first: boolean): string | undefined
  /** What the document ends with, after the last record. */
  end (context: ExportContext): string
  /**
   * Set when the format has no document without an item (OpenVEX: `statements` holds at least
   * one): why, for the answer that none is written. Records are then read up to the first the
   * format carries before anything is sent.
   */
  needsAnItem?: string
}
