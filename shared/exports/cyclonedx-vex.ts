import type { SecurityRecord } from '../records/schema.ts'
import type { ExportFormat } from './export-format.ts'
import { justificationOf, vexSubject } from './vex-decisions.ts'

/** The tenant's decisions as a CycloneDX 1.6 VEX: one vulnerability per record, `affects` its purl, `analysis` the decision. */

const justifications = ['code_not_present', 'code_not_reachable', 'requires_configuration', 'requires_dependency', 'requires_environment', 'protected_by_compiler', 'protected_at_runtime', 'protected_at_perimeter', 'protected_by_mitigating_control'] as const
const analysisState = { not_affected: 'not_affected', false_positive: 'false_positive', resolved: 'resolved', affected: 'exploitable', under_investigation: 'in_triage' } as const
const cvssMethod = { '3.0': 'CVSSv3', '3.1': 'CVSSv31', '4.0': 'CVSSv4' } as const

export function cyclonedxVulnerability (record: SecurityRecord): Record<string, unknown> | undefined {
  const subject = vexSubject(record)
  if (!subject) return undefined
  const [id, ...aliases] = subject.ids
  const reason = record.statusReason
  const justification = subject.decision === 'not_affected' ? justificationOf(reason, justifications) : undefined
  const analysis: Record<string, unknown> = { state: analysisState[subject.decision] }
  if (justification) analysis.justification = justification
  if (record.status === 'accepted_risk') analysis.response = ['will_not_fix']
  if (record.status === 'in_progress') analysis.response = ['update']
  if (reason) analysis.detail = reason
  analysis.lastUpdated = record.statusChangedAt
  return {
    id,
    ...(aliases.length > 0 ? { references: aliases.map((alias) => ({ id: alias, source: { name: alias.startsWith('GHSA-') ? 'GitHub Advisory Database' : 'OSV' } })) } : {}),
    ratings: [record.cvss
      ? { method: cvssMethod[record.cvss.version], vector: record.cvss.vector, score: record.cvss.baseScore, severity: record.cvss.severity }
      : { severity: record.severity }],
    ...(record.cweIds ? { cwes: record.cweIds.map((cwe) => Number(cwe.slice(4))) } : {}),
    ...(record.description ? { description: record.description } : {}),
    analysis,
    affects: [{ ref: subject.purl }]
  }
}

export const cyclonedxVex: ExportFormat = {
  mediaType: 'application/vnd.cyclonedx+json',
  contentType: 'application/vnd.cyclonedx+json; version=1.6; charset=utf-8',
  begin: ({ id, now }) => `{"$schema":"http://cyclonedx.org/schema/bom-1.6.schema.json","bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:${id}","version":1,"metadata":{"timestamp":"${now.toISOString().replace(/\.\d+Z$/, 'Z')}","tools":{"components":[{"type":"application","name":"security-records"}]}},"vulnerabilities":[`,
  item (record, first) {
    const vulnerability = cyclonedxVulnerability(record)
    return vulnerability && `${first ? '' : ','}${JSON.stringify(vulnerability)}`
  },
  end: () => ']}'
}
