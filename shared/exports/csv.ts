import type { SecurityRecord } from '../records/schema.ts'
import type { ExportFormat } from './export-format.ts'

/** The records as a spreadsheet: RFC 4180 CSV (CRLF, quoted where needed), a header row, one record per row. */

const columns: Array<[string, (record: SecurityRecord) => unknown]> = [
  ['id', (record) => record.id],
  ['title', (record) => record.title],
  ['severity', (record) => record.severity],
  ['status', (record) => record.status],
  ['statusReason', (record) => record.statusReason],
  ['category', (record) => record.category],
  ['asset', (record) => record.asset.name],
  ['assetType', (record) => record.asset.type],
  ['environment', (record) => record.asset.environment],
  ['assetPurl', (record) => record.asset.purl],
  ['component', (record) => record.component?.name],
  ['componentVersion', (record) => record.component?.version],
  ['componentPurl', (record) => record.component?.purl],
  ['vulnerabilityIds', (record) => record.vulnerabilityIds?.join(' ')],
  ['cweIds', (record) => record.cweIds?.join(' ')],
  ['cvssVector', (record) => record.cvss?.vector],
  ['cvssScore', (record) => record.cvss?.baseScore],
  ['assignee', (record) => record.assignee],
  ['tags', (record) => record.tags?.join(' ')],
  ['tool', (record) => record.source?.tool],
  ['ruleId', (record) => record.source?.ruleId],
  ['fingerprint', (record) => record.fingerprint],
  ['dueAt', (record) => record.dueAt],
  ['createdAt', (record) => record.createdAt],
  ['updatedAt', (record) => record.updatedAt],
  ['statusChangedAt', (record) => record.statusChangedAt]
]

/**
 * One cell: a text a spreadsheet would run as a formula (starting with = + - @, or a tab or
 * carriage return before one) is prefixed with an apostrophe (OWASP "CSV Injection"); a cell with
 * a comma, quote or line break is quoted, its quotes doubled.
 */
export function csvCell (value: unknown): string {
  if (value === undefined || value === null) return ''
  let text = String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

const row = (cells: unknown[]) => `${cells.map(csvCell).join(',')}\r\n`

export const csv: ExportFormat = {
  mediaType: 'text/csv',
  contentType: 'text/csv; charset=utf-8; header=present',
  begin: () => row(columns.map(([name]) => name)),
  item: (record) => row(columns.map(([, value]) => value(record))),
  end: () => ''
}
