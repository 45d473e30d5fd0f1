import t from 'tap'
import { applyRecordPatch, buildNewRecord, type WriteContext } from '../../../shared/records/model.ts'
import type { RecordCreate, SecurityRecord } from '../../../shared/records/schema.ts'
import { statuses, type Status } from '../../../shared/records/vocabulary.ts'
import { statusTransitions } from '../../../shared/records/workflow.ts'

const ID = '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f'
const OTHER_ID = '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e60'
const now = new Date('2026-03-01T12:00:00.000Z')
const context: WriteContext = { actor: { sub: 'alice', clientId: 'cli', tenant: 'acme' }, now }
const later: WriteContext = { actor: { sub: 'bob', clientId: 'cli', tenant: 'acme' }, now: new Date('2026-03-02T12:00:00.000Z') }

const base: RecordCreate = {
  title: 'Open S3 bucket',
  category: 'misconfiguration',
  severity: 'high',
  asset: { name: 'logs-bucket', type: 'cloud_resource' }
}

function fieldErrors (fn: () => unknown): Array<{ path: string, message: string }> {
  try {
    fn()
  } catch (error) {
    return (error as { errors?: Array<{ path: string, message: string }> }).errors ?? []
  }
  throw new Error('expected a validation error')
}

const requiredFor: Record<Status, Partial<RecordCreate>> = {
  open: {},
  triaged: {},
  in_progress: {},
  resolved: {},
  false_positive: { statusReason: 'test fixture' },
  not_affected: { statusReason: 'not reachable' },
  accepted_risk: { statusReason: 'compensating control', riskAcceptance: { expiresAt: '2026-06-01T00:00:00.000Z', approvedBy: 'ciso' } },
  duplicate: { statusReason: 'same as other', duplicateOf: OTHER_ID }
}

t.test('a new record gets server fields, the default status and its SLA deadline', async (t) => {
  const record = buildNewRecord(base, ID, context)
  t.match(record, {
    id: ID, version: 1, status: 'open', severity: 'high',
    createdAt: now.toISOString(), updatedAt: now.toISOString(), statusChangedAt: now.toISOString(),
    createdBy: 'alice', updatedBy: 'alice', dueAt: '2026-03-31T12:00:00.000Z'
  })
})

t.test('dueAt follows the SLA table and info has none', async (t) => {
  const days = { critical: 7, high: 30, medium: 90, low: 180 } as const
  for (const [severity, d] of Object.entries(days)) {
    const record = buildNewRecord({ ...base, severity: severity as keyof typeof days }, ID, context)
    t.equal(record.dueAt, new Date(now.getTime() + d * 86_400_000).toISOString(), severity)
  }
  t.notOk('dueAt' in buildNewRecord({ ...base, severity: 'info' }, ID, context))
})

t.test('severity is derived from a CVSS vector when not given', async (t) => {
  const { severity: _omit, ...noSeverity } = base
  const record = buildNewRecord({ ...noSeverity, cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' } }, ID, context)
  t.equal(record.severity, 'critical')
  t.same(record.cvss, { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', version: '3.1', baseScore: 9.8, severity: 'critical' })
  t.equal(record.dueAt, '2026-03-08T12:00:00.000Z')
})

t.test('an explicit severity wins over the CVSS one', async (t) => {
  const record = buildNewRecord({ ...base, severity: 'low', cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' } }, ID, context)
  t.equal(record.severity, 'low')
  t.equal(record.cvss?.severity, 'critical')
})

t.test('severity is required without a vector, and an invalid vector is named', async (t) => {
  const { severity: _omit, ...noSeverity } = base
  t.same(fieldErrors(() => buildNewRecord(noSeverity, ID, context)), [{ path: '/severity', message: 'is required unless cvss.vector is given' }])
  t.match(fieldErrors(() => buildNewRecord({ ...base, cvss: { vector: 'CVSS:3.1/AV:N' } }, ID, context)), [{ path: '/cvss/vector' }])
})

t.test('statuses that need a reason refuse to be set without one', async (t) => {
  for (const status of ['false_positive', 'not_affected', 'accepted_risk', 'duplicate'] as const) {
    const { statusReason: _omit, ...rest } = requiredFor[status]
    t.match(fieldErrors(() => buildNewRecord({ ...base, status, ...rest }, ID, context)), [{ path: '/statusReason' }], status)
  }
})

t.test('duplicate needs duplicateOf, which is refused elsewhere and must not be the record itself', async (t) => {
  t.match(fieldErrors(() => buildNewRecord({ ...base, status: 'duplicate', statusReason: 'x' }, ID, context)), [{ path: '/duplicateOf', message: 'is required when status is duplicate' }])
  t.match(fieldErrors(() => buildNewRecord({ ...base, duplicateOf: OTHER_ID }, ID, context)), [{ path: '/duplicateOf', message: 'is only allowed when status is duplicate' }])
  t.match(fieldErrors(() => buildNewRecord({ ...base, status: 'duplicate', statusReason: 'x', duplicateOf: ID }, ID, context)), [{ path: '/duplicateOf', message: 'cannot point at the record itself' }])
})

t.test('accepted risk needs an acceptance that ends in the future, within 365 days', async (t) => {
  const accepted = { ...base, status: 'accepted_risk' as const, statusReason: 'waf rule' }
  t.match(fieldErrors(() => buildNewRecord(accepted, ID, context)), [{ path: '/riskAcceptance' }])
  t.match(fieldErrors(() => buildNewRecord({ ...accepted, riskAcceptance: { expiresAt: '2026-02-01T00:00:00Z', approvedBy: 'ciso' } }, ID, context)), [{ path: '/riskAcceptance/expiresAt', message: 'must be in the future' }])
  t.match(fieldErrors(() => buildNewRecord({ ...accepted, riskAcceptance: { expiresAt: '2027-03-02T12:00:01Z', approvedBy: 'ciso' } }, ID, context)), [{ path: '/riskAcceptance/expiresAt', message: 'must be at most 365 days ahead' }])
  t.ok(buildNewRecord({ ...accepted, riskAcceptance: { expiresAt: '2027-03-01T12:00:00Z', approvedBy: 'ciso' } }, ID, context))
  t.match(fieldErrors(() => buildNewRecord({ ...base, riskAcceptance: { expiresAt: '2026-06-01T00:00:00Z', approvedBy: 'ciso' } }, ID, context)), [{ path: '/riskAcceptance', message: 'is only allowed when status is accepted_risk' }])
})

t.test('every transition of the workflow table is enforced, and only those', async (t) => {
  for (const from of statuses) {
    const current = buildNewRecord({ ...base, status: from, ...requiredFor[from] }, ID, context)
    for (const to of statuses) {
      if (to === from) continue
      const patch = { status: to, ...requiredFor[to] }
      if (statusTransitions[from].includes(to)) {
        const next = applyRecordPatch(current, patch, later)
        t.equal(next.status, to, `${from} -> ${to} allowed`)
      } else {
        t.throws(() => applyRecordPatch(current, patch, later), { code: 'SR_ILLEGAL_TRANSITION', statusCode: 409 }, `${from} -> ${to} refused`)
      }
    }
  }
})

t.test('a patch bumps the version, records the writer and moves statusChangedAt only on a status change', async (t) => {
  const current = buildNewRecord(base, ID, context)
  const retitled = applyRecordPatch(current, { title: 'Public S3 bucket' }, later)
  t.match(retitled, { version: 2, title: 'Public S3 bucket', updatedBy: 'bob', updatedAt: later.now.toISOString(), statusChangedAt: now.toISOString(), createdBy: 'alice' })
  const triaged = applyRecordPatch(retitled, { status: 'triaged' }, later)
  t.match(triaged, { version: 3, status: 'triaged', statusChangedAt: later.now.toISOString() })
})

t.test('a patch that changes nothing returns the same record, same version', async (t) => {
  const current = buildNewRecord(base, ID, context)
  t.equal(applyRecordPatch(current, { title: current.title, severity: 'high' }, later), current)
})

t.test('null removes optional fields, nested objects merge (RFC 7396)', async (t) => {
  const current = buildNewRecord({ ...base, assignee: 'carol', tags: ['a'], asset: { name: 'x', type: 'host', environment: 'production', purl: 'pkg:npm/lodash@4.17.20' } }, ID, context)
  const next = applyRecordPatch(current, { assignee: null, tags: null, asset: { environment: null } }, later)
  t.notOk('assignee' in next)
  t.notOk('tags' in next)
  t.same(next.asset, { name: 'x', type: 'host', purl: 'pkg:npm/lodash@4.17.20' })
})

t.test('dueAt moves when severity changes, counted from createdAt', async (t) => {
  const current = buildNewRecord(base, ID, context)
  const next = applyRecordPatch(current, { severity: 'critical' }, later)
  t.equal(next.dueAt, '2026-03-08T12:00:00.000Z')
  t.notOk('dueAt' in applyRecordPatch(current, { severity: 'info' }, later))
})

t.test('a new vector re-derives severity unless the patch sets one', async (t) => {
  const current = buildNewRecord(base, ID, context)
  const next = applyRecordPatch(current, { cvss: { vector: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N' } }, later)
  t.equal(next.severity, 'medium')
  const pinned = applyRecordPatch(current, { severity: 'critical', cvss: { vector: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N' } }, later)
  t.equal(pinned.severity, 'critical')
})

t.test('reopening drops the acceptance and the duplicate link', async (t) => {
  const accepted = buildNewRecord({ ...base, status: 'accepted_risk', ...requiredFor.accepted_risk }, ID, context)
  const reopened = applyRecordPatch(accepted, { status: 'open' }, later)
  t.notOk('riskAcceptance' in reopened)
  const duplicate = buildNewRecord({ ...base, status: 'duplicate', ...requiredFor.duplicate }, ID, context)
  t.notOk('duplicateOf' in applyRecordPatch(duplicate, { status: 'open' }, later))
})

t.test('a merged record that breaks a field rule is refused by path', async (t) => {
  const current = buildNewRecord(base, ID, context) as SecurityRecord
  t.match(fieldErrors(() => applyRecordPatch(current, { source: { ruleId: 'R1' } }, later)), [{ path: '/source/tool', message: 'is required' }])
})

t.test('a record names the component a finding is in; a merge patch changes or removes it; a bad purl is named', async (t) => {
  const created = buildNewRecord({ ...base, component: { purl: 'pkg:npm/lodash@4.17.20', name: 'lodash', version: '4.17.20' } }, ID, context)
  t.same(created.component, { purl: 'pkg:npm/lodash@4.17.20', name: 'lodash', version: '4.17.20' })
  const upgraded = applyRecordPatch(created, { component: { purl: 'pkg:npm/lodash@4.17.21', version: '4.17.21' } }, later)
  t.same(upgraded.component, { purl: 'pkg:npm/lodash@4.17.21', name: 'lodash', version: '4.17.21' })
  const withoutVersion = applyRecordPatch(upgraded, { component: { version: null } }, later)
  t.same(withoutVersion.component, { purl: 'pkg:npm/lodash@4.17.21', name: 'lodash' })
  t.equal(applyRecordPatch(withoutVersion, { component: null }, later).component, undefined)
  t.match(fieldErrors(() => applyRecordPatch(created, { component: { purl: 'lodash' } }, later)), [{ path: '/component/purl' }])
  t.match(fieldErrors(() => applyRecordPatch(created, { component: { name: '' } }, later)), [{ path: '/component/name' }])
})
