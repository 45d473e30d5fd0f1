import type { MetricsSummary } from '../../shared/metrics/summary.ts'
import type { HistoryActor, RecordChange } from '../../shared/records/change.ts'
import type { ReportImport } from '../../shared/records/report-import.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'

/** What the console reads from the records API: the API's own shapes. */
export type RecordView = SecurityRecord
export type HistoryEntryView = RecordChange
export type ImportView = ReportImport
export type MetricsView = MetricsSummary
export type { HistoryActor }

export interface ListPage<T> {
  items: T[]
  nextCursor: string | null
}

/** An RFC 9457 problem as the API sends it. */
export interface Problem {
  title?: string
  detail?: string
  requestId?: string
  errors?: Array<{ path: string, message: string }>
}
