import type { ReportFormat } from './report-format.ts'
import { sarif } from './sarif/sarif-format.ts'

/** The report formats the import takes: a new one is a folder beside `sarif/` and a line here. */
export const reportFormats: readonly ReportFormat[] = [
  sarif
]

/** Every media type some format is sent as (any other is a 415). */
export const reportMediaTypes: readonly string[] = [...new Set(reportFormats.flatMap((format) => format.mediaTypes))]

/**
 * The format of a report sent as `mediaType` (parameters ignored): the first format that takes
 * the type; undefined when none does.
 */
export function formatOfMediaType (mediaType: string | undefined): ReportFormat | undefined {
  const essence = (mediaType ?? '').split(';')[0]!.trim().toLowerCase()
  return reportFormats.find((format) => format.mediaTypes.includes(essence))
}

/** The format a stored import was received in (imports stored before formats had names were SARIF). */
export function formatNamed (name: string | undefined): ReportFormat {
  const format = reportFormats.find((candidate) => candidate.name === (name ?? sarif.name))
  if (!format) throw new Error(`no report format named ${name}`)
  return format
}
