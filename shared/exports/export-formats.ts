import { csv } from './csv.ts'
import { cyclonedxVex } from './cyclonedx-vex.ts'
import type { ExportFormat } from './export-format.ts'
import { openvex } from './openvex.ts'
import { sarifExport } from './sarif.ts'

/** The media types `GET /v1/records` answers with besides JSON, each a new export (SARIF keeps its rules per export). */
export const exportFormats: ReadonlyMap<string, () => ExportFormat> = new Map([
  [csv.mediaType, () => csv],
  [openvex.mediaType, () => openvex],
  [cyclonedxVex.mediaType, () => cyclonedxVex],
  ['application/sarif+json', sarifExport]
])
