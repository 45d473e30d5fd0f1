import t from 'tap'
import { scopeKey } from '../../../../shared/imports/import-scope.ts'
import { mapResult } from '../../../../shared/imports/sarif/map-result.ts'
import { runContext } from '../../../../shared/imports/sarif/run-context.ts'

const asset = { name: 'shop', type: 'repository' as const }
const run = runContext({
  tool: { driver: { name: 'CodeQL', rules: [{ id: 'js/sql-injection', properties: { 'security-severity': '8.8', tags: ['security', 'external/cwe/cwe-089'] } }, { id: 'js/unused' }] } },
  automationDetails: { id: 'js/run-42' }
}, undefined)
if (typeof run === 'string') throw new Error(run)

t.test('a result maps to a finding of its scope: rule, severity from security-severity, CWEs, fingerprint under the scope', async (t) => {
  const mapped = mapResult({ ruleId: 'js/sql-injection', message: { text: 'Query built from user input' }, partialFingerprints: { primaryLocationLineHash: 'abc' } }, run, asset, 'import-1')
  t.match(mapped, {
    kind: 'finding',
    scope: { tool: 'CodeQL', category: 'js', asset: 'shop' },
    finding: { title: 'Query built from user input', severity: 'high', cweIds: ['CWE-89'], source: { tool: 'CodeQL', ruleId: 'js/sql-injection', scanId: 'import-1' } }
  })
  if (mapped.kind !== 'finding') return
  t.ok(mapped.finding.fingerprint.startsWith(scopeKey('sarif', mapped.scope, asset)))
  t.ok(mapped.finding.fingerprint.startsWith('sarif:'))
})

t.test('the fingerprint survives moved lines and tells two rules apart', async (t) => {
  const at = (ruleId: string, line: number) => mapResult({ ruleId, message: { text: 'm' }, partialFingerprints: { hash: 'h1' }, locations: [{ physicalLocation: { artifactLocation: { uri: 'a.js' }, region: { startLine: line } } }] }, run, asset, 'i')
  const fingerprint = (mapped: ReturnType<typeof mapResult>) => mapped.kind === 'finding' ? mapped.finding.fingerprint : undefined
  t.equal(fingerprint(at('js/sql-injection', 3)), fingerprint(at('js/sql-injection', 30)))
  t.not(fingerprint(at('js/sql-injection', 3)), fingerprint(at('js/unused', 3)))
})

t.test('severity falls back to level; a level that names an Object property is no severity', async (t) => {
  const severity = (level: string) => {
    const mapped = mapResult({ ruleId: 'js/unused', level, message: { text: 'm' } }, run, asset, 'i')
    return mapped.kind === 'finding' ? mapped.finding.severity : undefined
  }
  t.same(['error', 'warning', 'note', 'none'].map(severity), ['high', 'medium', 'low', 'info'])
  t.equal(severity('constructor'), 'medium')
  t.equal(severity('__proto__'), 'medium')
})

t.test('results that are no findings are skipped; a result without a rule is rejected', async (t) => {
  t.match(mapResult({ ruleId: 'js/unused', kind: 'pass' }, run, asset, 'i'), { kind: 'skipped' })
  t.match(mapResult({ ruleId: 'js/unused', baselineState: 'absent' }, run, asset, 'i'), { kind: 'skipped' })
  t.match(mapResult({ message: { text: 'm' } }, run, asset, 'i'), { kind: 'rejected' })
  t.match(mapResult('text', run, asset, 'i'), { kind: 'rejected' })
})

t.test('an accepted suppression makes the record not_affected with the justification', async (t) => {
  t.match(mapResult({ ruleId: 'js/unused', message: { text: 'm' }, suppressions: [{ kind: 'inSource', justification: 'test code' }] }, run, asset, 'i'), {
    finding: { status: 'not_affected', statusReason: 'Suppressed in the scanner report (inSource): test code' }
  })
  t.notOk('status' in ((mapResult({ ruleId: 'js/unused', message: { text: 'm' }, suppressions: [{ status: 'underReview' }] }, run, asset, 'i') as { finding: object }).finding))
})
