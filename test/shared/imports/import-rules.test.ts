import t from 'tap'
import { importPatch, resolutionPatch, resolutionReason, resolvedByImport } from '../../../shared/imports/import-rules.ts'
import { SUPPRESSION_REASON_PREFIX, type ImportedFinding, type ImportScope } from '../../../shared/imports/report-format.ts'
import { buildNewRecord } from '../../../shared/records/model.ts'
import type { SecurityRecord } from '../../../shared/records/schema.ts'
import { activeStatuses } from '../../../shared/records/workflow.ts'
import { statuses } from '../../../shared/records/vocabulary.ts'

const scope: ImportScope = { tool: 'CodeQL', category: 'js', asset: 'shop' }

const record = buildNewRecord({
  title: 'SQL injection',
  category: 'vulnerability',
  severity: 'high',
  asset: { name: 'shop', type: 'repository' },
  fingerprint: 'sarif:f1',
  source: { tool: 'CodeQL', ruleId: 'js/sql-injection', scanId: 'import-1' }
}, '01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e5f', { actor: { sub: 'scanner', clientId: 'ci', tenant: 'acme' }, now: new Date('2026-01-01T00:00:00.000Z') })

/** The same finding as a later import reports it: nothing changed but the import that reports it. */
const reported = {
  title: record.title,
  category: record.category,
  severity: record.severity,
  asset: record.asset,
  fingerprint: record.fingerprint,
  source: { ...record.source!, scanId: 'import-2' }
} as ImportedFinding

const suppressed = { ...reported, status: 'not_affected', statusReason: `${SUPPRESSION_REASON_PREFIX} (inSource): test code` } as ImportedFinding

const withStatus = (status: SecurityRecord['status'], statusReason?: string) => ({ ...record, status, ...(statusReason ? { statusReason } : {}) }) as SecurityRecord

t.test('the resolution reason names the import, the tool, the category (when there is one) and the asset', async (t) => {
  t.equal(resolutionReason('import-7', scope), 'Not reported by import import-7 (CodeQL, category js, asset shop)')
  t.equal(resolutionReason('import-7', { ...scope, category: '' }), 'Not reported by import import-7 (CodeQL, asset shop)')
})

t.test('a record counts as resolved by an import only when its status is resolved with an import\'s reason', async (t) => {
  t.ok(resolvedByImport(withStatus('resolved', resolutionReason('import-1', scope))))
  t.notOk(resolvedByImport(withStatus('resolved', 'Fixed in 2.4.1')), 'a person resolved it')
  t.notOk(resolvedByImport(withStatus('resolved')), 'resolved without a reason')
  t.notOk(resolvedByImport(withStatus('open', resolutionReason('import-1', scope))), 'the reason alone is not enough')
})

t.test('a result that reports nothing new writes nothing, though another import reports it', async (t) => {
  t.same(importPatch(record, reported), {})
})

t.test('a changed scanner field is written, and the source then names this import', async (t) => {
  t.same(importPatch(record, { ...reported, severity: 'critical' }), { severity: 'critical', source: reported.source })
  const otherRule = { ...reported, source: { ...reported.source!, ruleId: 'js/sql-injection-v2' } }
  t.same(importPatch(record, otherRule), { source: otherRule.source }, 'a new rule id is a change of its own')
})

t.test('reported again, a record an import resolved or suppressed is reopened', async (t) => {
  t.same(importPatch(withStatus('resolved', resolutionReason('import-1', scope)), reported), { status: 'open', statusReason: null, source: reported.source })
  t.same(importPatch(withStatus('not_affected', `${SUPPRESSION_REASON_PREFIX} (external): vendored`), reported), { status: 'open', statusReason: null, source: reported.source })
})

t.test('reported again, a status a person chose stays', async (t) => {
  for (const [status, reason] of [['resolved', 'Fixed in 2.4.1'], ['not_affected', 'Not reachable'], ['false_positive', 'Sanitised upstream'], ['accepted_risk', 'Until the rewrite'], ['duplicate', 'Same as another']] as const) {
    t.same(importPatch(withStatus(status, reason), reported), {}, status)
  }
  for (const status of activeStatuses) t.same(importPatch(withStatus(status), reported), {}, status)
})

t.test('reported suppressed, an active record becomes not_affected with the justification; any other status stays', async (t) => {
  for (const status of activeStatuses) {
    t.same(importPatch(withStatus(status), suppressed), { status: 'not_affected', statusReason: suppressed.statusReason, source: suppressed.source }, status)
  }
  t.same(importPatch(withStatus('false_positive', 'Sanitised upstream'), suppressed), {}, 'a person\'s decision stays')
  t.same(importPatch(withStatus('resolved', resolutionReason('import-1', scope)), suppressed), {}, 'suppressed is not reported: no reopening')
  const alreadySuppressed = withStatus('not_affected', suppressed.statusReason)
  t.same(importPatch(alreadySuppressed, suppressed), {}, 'suppressed again: nothing to write')
})

t.test('a record the latest import no longer reports is resolved only while it is active', async (t) => {
  for (const status of statuses) {
    const patch = resolutionPatch(withStatus(status), 'import-9', scope)
    if (activeStatuses.includes(status)) {
      t.same(patch, { status: 'resolved', statusReason: 'Not reported by import import-9 (CodeQL, category js, asset shop)' }, status)
    } else {
      t.equal(patch, undefined, status)
    }
  }
})
