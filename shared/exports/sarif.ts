import type { SecurityRecord } from '../records/schema.ts'
import { activeStatuses } from '../records/workflow.ts'
import type { ExportFormat } from './export-format.ts'

/**
 * Open code findings as a SARIF 2.1.0 log that GitHub code scanning accepts: one run, a result
 * per open (open, triaged, in progress) record with a code location, its rule in the driver's
 * rules with `security-severity` and CWE tags, fingerprints from the record's. The results are
 * written as they are read; the rules they named follow them (SARIF does not order members).
 */

/** GitHub's bands read back: a score inside each severity's band. */
const securitySeverity = { critical: '9.5', high: '8.0', medium: '5.5', low: '2.0', info: '0.0' } as const
const level = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' } as const

/**
 * Where a finding is in the code: what the SARIF import wrote as a paragraph of its own,
 * `**Location:** \`path:line\``. The record has no location field: a record without that paragraph
 * (a BOM's finding, one created through the API) is no code finding GitHub could place.
 */
export function codeLocation (record: SecurityRecord): { uri: string, line?: number } | undefined {
  const match = record.description?.match(/(?:^|\n)\*\*Location:\*\* `([^`\n]+?)(?::(\d+))?`(?:\n|$)/)
  if (!match) return undefined
  return { uri: match[1]!, ...(match[2] ? { line: Number(match[2]) } : {}) }
}

const ruleIdOf = (record: SecurityRecord) => record.source?.ruleId ?? record.vulnerabilityIds?.[0] ?? record.cweIds?.[0] ?? 'security-record'

/** The run's rules so far, by id, in the order results first named them. */
class Rules {
  readonly byId = new Map<string, { index: number, rule: Record<string, unknown> }>()

  indexOf (record: SecurityRecord): number {
    const id = ruleIdOf(record)
    const known = this.byId.get(id)
    if (known) return known.index
    const tags = ['security', ...(record.cweIds ?? []).map((cwe) => `external/cwe/cwe-${cwe.slice(4)}`)]
    const rule = {
      id,
      name: id,
      shortDescription: { text: record.title },
      fullDescription: { text: record.title },
      ...(record.references?.[0] ? { helpUri: record.references[0] } : {}),
      help: { text: record.description ?? record.title },
      defaultConfiguration: { level: level[record.severity] },
      properties: { tags, precision: 'high', 'security-severity': record.cvss ? record.cvss.baseScore.toFixed(1) : securitySeverity[record.severity] }
    }
    this.byId.set(id, { index: this.byId.size, rule })
    return this.byId.size - 1
  }
}

export function sarifExport (): ExportFormat {
  let rules = new Rules()
  return {
    mediaType: 'application/sarif+json',
    contentType: 'application/sarif+json; charset=utf-8',
    begin () {
      rules = new Rules()
      return '{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"results":['
    },
    item (record, first) {
      const location = codeLocation(record)
      if (!activeStatuses.includes(record.status) || !location) return undefined
      const ruleIndex = rules.indexOf(record)
      const result = {
        ruleId: ruleIdOf(record),
        ruleIndex,
        level: level[record.severity],
        message: { text: record.title },
        locations: [{ physicalLocation: { artifactLocation: { uri: location.uri }, ...(location.line ? { region: { startLine: location.line } } : {}) } }],
        partialFingerprints: { 'securityRecordsFingerprint/v1': record.fingerprint ?? record.id },
        properties: { 'security-records/id': record.id, 'security-records/status': record.status }
      }
      return `${first ? '' : ','}${JSON.stringify(result)}`
    },
    end () {
      const driver = { name: 'security-records', rules: [...rules.byId.values()].map(({ rule }) => rule) }
      return `],"tool":{"driver":${JSON.stringify(driver)}}}]}`
    }
  }
}
