import type { ReportFormat } from './report-format.ts'
import { cyclonedx } from './cyclonedx/cyclonedx-format.ts'
import { sarif } from './sarif/sarif-format.ts'

/** The report formats the import takes: a new one is a folder beside `sarif/` and a line here. */
export const reportFormats: readonly ReportFormat[] = [
  sarif,
  cyclonedx
]

/** Every media type some format is sent as (any other is a 415). */
export const reportMediaTypes: readonly string[] = [...new Set(reportFormats.flatMap((format) => format.mediaTypes))]

/**
 * The format of a report sent as `mediaType` (parameters ignored): the first format that takes
 * the type; undefined when none does.
 */
export function formatOfMediaType (mediaType: string | undefined): ReportFormat | undefined {
  const essence = essenceOf(mediaType)
  return reportFormats.find((format) => format.mediaTypes.includes(essence))
}

const essenceOf = (mediaType: string | undefined) => (mediaType ?? '').split(';')[0]!.trim().toLowerCase()

/** Whether several formats are sent as this media type (parameters ignored). */
export const isGenericMediaType = (mediaType: string | undefined) => GENERIC_MEDIA_TYPES.includes(essenceOf(mediaType))

/** Media types several formats are sent as: the start of the document says which format it is. */
export const GENERIC_MEDIA_TYPES: readonly string[] = ['application/json']

/**
 * The format of a report sent as `mediaType`, from the start of the document (`prefix`) when the
 * type is generic: the format that recognises it, else the first that takes the type.
 */
export function formatOfReport (mediaType: string | undefined, prefix: string): ReportFormat | undefined {
  const essence = essenceOf(mediaType)
  if (!GENERIC_MEDIA_TYPES.includes(essence)) return formatOfMediaType(essence)
  return reportFormats.find((format) => format.recognise?.test(prefix)) ?? formatOfMediaType(essence)
}

/** The format a stored import was received in (imports stored before formats had names were SARIF). */
export function formatNamed (name: string | undefined): ReportFormat {
  const format = reportFormats.find((candidate) => candidate.name === (name ?? sarif.name))
  if (!format) throw new Error(`no report format named ${name}`)
  return format
}
