/**
 * The report formats `POST /v1/imports` takes, as people and file pickers know them: the import's
 * registry (`shared/imports/formats.ts`) has one format of each name, whose title and media types
 * come from here; the console's import page lists them from here (it reaches the import only
 * through the API).
 */

export const SARIF_VERSION = '2.1.0'
/** The CycloneDX versions whose vulnerability model the import reads (1.4 introduced it; 1.5 and 1.6 kept it). */
export const CYCLONEDX_VERSIONS = ['1.4', '1.5', '1.6'] as const
/** CycloneDX's media type for JSON BOMs (IANA). */
export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json'

export interface ImportFormatLabel {
  /** The format's name in the registry. */
  name: string
  /** As a person names the format (`SARIF 2.1.0`). */
  title: string
  /** What one document of it is called (`log`, `BOM`). */
  document: string
  /** Media types a report of this format is sent as. */
  mediaTypes: readonly string[]
  /** File name endings a report of this format usually has. */
  extensions: readonly string[]
}

export const importFormatLabels: readonly ImportFormatLabel[] = [
  { name: 'sarif', title: `SARIF ${SARIF_VERSION}`, document: 'log', mediaTypes: ['application/sarif+json', 'application/json'], extensions: ['.sarif', '.sarif.json', '.json'] },
  { name: 'cyclonedx', title: `CycloneDX ${CYCLONEDX_VERSIONS.join('/')}`, document: 'BOM', mediaTypes: [CYCLONEDX_MEDIA_TYPE, 'application/json'], extensions: ['.cdx.json', '.bom.json', '.json'] }
]

/** The label of the format of this name. */
export function importFormatLabel (name: string): ImportFormatLabel {
  const label = importFormatLabels.find((candidate) => candidate.name === name)
  if (!label) throw new Error(`no import format is labelled ${name}`)
  return label
}
