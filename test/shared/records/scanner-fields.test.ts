import t from 'tap'
import { importPatch } from '../../../shared/imports/import-rules.ts'
import { reReportPatch } from '../../../shared/records/ingest-rules.ts'
import { scannerFieldChanges, scannerOwnedFields } from '../../../shared/records/scanner-fields.ts'
import type { SecurityRecord } from '../../../shared/records/schema.ts'

const record = {
  id: '01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e5f',
  title: 'SQL injection',
  description: 'Found.',
  category: 'vulnerability',
  severity: 'high',
  status: 'open',
  asset: { name: 'shop', type: 'repository' },
  fingerprint: 'f1',
  source: { tool: 'scanner', ruleId: 'r1', scanId: 's1' },
  cweIds: ['CWE-89'],
  references: ['https://example.com/r1'],
  vulnerabilityIds: ['CVE-2024-3094'],
  version: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  statusChangedAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'a',
  updatedBy: 'a'
} as unknown as SecurityRecord

const changed: Record<typeof scannerOwnedFields[number], unknown> = {
  title: 'SQL injection in login',
  description: 'Found again.',
  category: 'misconfiguration',
  severity: 'critical',
  cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
  asset: { environment: 'production' },
  component: { purl: 'pkg:npm/lodash@4.17.20', name: 'lodash', version: '4.17.20' },
  vulnerabilityIds: ['CVE-2021-44228'],
  cweIds: ['CWE-79'],
  references: ['https://example.com/r2'],
  source: { tool: 'scanner', ruleId: 'r2', scanId: 's2' }
}

t.test('an event re-report and an import refresh the same scanner-owned fields', async (t) => {
  for (const field of scannerOwnedFields) {
    const reported = { title: record.title, category: record.category, asset: record.asset, fingerprint: 'f1', [field]: changed[field] }
    const byEvent = reReportPatch(record, reported as never, new Date())
    const byImport = importPatch(record, reported as never)
    t.ok(field in byEvent, `a re-report refreshes ${field}`)
    t.ok(field in byImport, `an import refreshes ${field}`)
  }
})

t.test('what a scanner reports unchanged changes nothing; a person\'s fields are never touched', async (t) => {
  const same = { title: record.title, category: record.category, severity: record.severity, asset: { name: 'shop', type: 'repository' }, cweIds: ['CWE-89'], source: record.source }
  t.same(scannerFieldChanges(record, same as never), {})
  t.same(scannerFieldChanges({ ...record, assignee: 'pat', tags: ['team:web'] }, same as never), {})
})

t.test('an import compares source without scanId: another scan of the same rule alone changes nothing', async (t) => {
  const reported = { title: record.title, category: record.category, asset: record.asset, fingerprint: 'f1', source: { tool: 'scanner', ruleId: 'r1', scanId: 's9' } }
  t.same(importPatch(record, reported as never), {})
  t.same(Object.keys(reReportPatch(record, reported as never, new Date())), ['source'], 'a re-report event keeps the source it was sent')
})

t.test('a new vector makes a derived severity follow it unless the report sends one', async (t) => {
  const vector = changed.cvss as { vector: string }
  t.equal(scannerFieldChanges(record, { cvss: vector }).severity, null)
  t.notOk('severity' in scannerFieldChanges(record, { cvss: vector, severity: 'high' }))
})
