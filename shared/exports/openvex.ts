import type { SecurityRecord } from '../records/schema.ts'
import type { ExportFormat } from './export-format.ts'
import { actionOf, justificationOf, vexSubject } from './vex-decisions.ts'

/** The tenant's decisions as an OpenVEX 0.2.0 document (https://github.com/openvex/spec). */

const justifications = ['component_not_present', 'vulnerable_code_not_present', 'vulnerable_code_not_in_execute_path', 'vulnerable_code_cannot_be_controlled_by_adversary', 'inline_mitigations_already_exist'] as const
const openvexStatus = { not_affected: 'not_affected', false_positive: 'not_affected', resolved: 'fixed', affected: 'affected', under_investigation: 'under_investigation' } as const

/** The reason without the justification it starts with (the statement carries that on its own). */
const afterJustification = (reason: string, justification: string | undefined) => (justification ? reason.slice(justification.length).replace(/^:\s*/, '') : reason)

export function openvexStatement (record: SecurityRecord): Record<string, unknown> | undefined {
  const subject = vexSubject(record)
  if (!subject) return undefined
  const [name, ...aliases] = subject.ids
  const product = record.component?.purl && record.asset.purl && record.asset.purl !== record.component.purl
    ? { '@id': record.asset.purl, subcomponents: [{ '@id': record.component.purl }] }
    : { '@id': subject.purl }
  const statement: Record<string, unknown> = {
    vulnerability: { name, ...(aliases.length > 0 ? { aliases } : {}) },
    timestamp: record.statusChangedAt,
    products: [product],
    status: openvexStatus[subject.decision]
  }
  const reason = record.statusReason
  if (subject.decision === 'not_affected' || subject.decision === 'false_positive') {
    const justification = justificationOf(reason, justifications)
    if (justification) statement.justification = justification
    const impact = reason === undefined ? undefined : afterJustification(reason, justification)
    statement.impact_statement = `${subject.decision === 'false_positive' ? 'False positive' : ''}${subject.decision === 'false_positive' && impact ? ': ' : ''}${impact ?? ''}` || 'Not affected'
  } else if (subject.decision === 'affected') {
    statement.action_statement = actionOf(record)
  } else if (reason) {
    statement.status_notes = reason
  }
  return statement
}

export const openvex: ExportFormat = {
  mediaType: 'application/openvex+json',
  contentType: 'application/openvex+json; charset=utf-8',
  begin: ({ id, tenant, now }) => `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"urn:uuid:${id}","author":${JSON.stringify(`security-records tenant ${tenant}`)},"role":"Document Creator","timestamp":"${now.toISOString()}","version":1,"tooling":"security-records","statements":[`,
  item (record, first) {
    const statement = openvexStatement(record)
    return statement && `${first ? '' : ','}${JSON.stringify(statement)}`
  },
  end: () => ']}',
  needsAnItem: 'No record under this filter (from the cursor on) carries a decision OpenVEX states: a status other than open or duplicate, a vulnerability id and a package URL. An OpenVEX document needs at least one statement, so there is none to send.'
}
