import type { FieldError } from '../../errors.ts'
import { CYCLONEDX_VERSIONS, importFormatLabel } from '../../records/import-formats.ts'
import type { ReportFormat } from '../report-format.ts'
import { affectedRefs, BOM_COMPONENTS, bomContext, type BomContext } from './bom-context.ts'
import { CYCLONEDX, mapVulnerability, splitVulnerability } from './map-vulnerability.ts'

/**
 * CycloneDX 1.5/1.6 JSON (ECMA-424, https://cyclonedx.org/specification/overview/) with
 * `vulnerabilities`, as Trivy, Grype, OSV-Scanner, cdxgen and Dependency-Track write it: the BOM
 * is one run; each vulnerability and component it affects is a finding on that component.
 */
export const cyclonedx: ReportFormat<BomContext> = {
  name: CYCLONEDX,
  title: importFormatLabel(CYCLONEDX).title,
  mediaTypes: importFormatLabel(CYCLONEDX).mediaTypes,
  recognise: /"bomFormat"\s*:\s*"CycloneDX"/,
  paths: { document: 'a CycloneDX BOM', header: ['bomFormat', 'specVersion'], runMembers: ['metadata'], streamed: BOM_COMPONENTS, results: 'vulnerabilities' },
  checkHeader ({ bomFormat, specVersion }, complete) {
    const problems: FieldError[] = []
    if (bomFormat === undefined) {
      if (complete) problems.push({ path: '/bomFormat', message: 'is required ("CycloneDX")' })
    } else if (bomFormat !== 'CycloneDX') {
      problems.push({ path: '/bomFormat', message: `must be "CycloneDX" (got ${JSON.stringify(bomFormat).slice(0, 50)})` })
    }
    if (specVersion === undefined) {
      if (complete) problems.push({ path: '/specVersion', message: `is required (${CYCLONEDX_VERSIONS.map((version) => `"${version}"`).join(' or ')})` })
    } else if (!(CYCLONEDX_VERSIONS as readonly unknown[]).includes(specVersion)) {
      problems.push({ path: '/specVersion', message: `must be ${CYCLONEDX_VERSIONS.map((version) => `"${version}"`).join(' or ')} (got ${JSON.stringify(specVersion).slice(0, 50)})` })
    }
    return problems
  },
  runContext: bomContext,
  contextKeys: affectedRefs,
  mapResult: mapVulnerability,
  splitResult: splitVulnerability
}
