import t from 'tap'
import { groupByFingerprint, isRefusal, outcomeOf, reject, type Tally } from '../../../shared/imports/apply-results.ts'
import { importRecordId } from '../../../shared/imports/import-record-id.ts'
import type { ChunkResult } from '../../../shared/imports/map-chunk.ts'
import { DuplicateFingerprintError, IllegalTransitionError, IngestConflictError, invalidFields, NotFoundError, PreconditionFailedError, StoreUnavailableError } from '../../../shared/errors.ts'
import { emptyCounts } from '../../../shared/records/report-import.ts'
import type { RecordChange } from '../../../shared/records/change.ts'

const finding = (fingerprint: string, path: string): ChunkResult => ({ path, requestId: path, scope: { tool: 't', category: '' }, scopeKey: 'sarif:k:', mapped: { kind: 'finding', scope: { tool: 't', category: '', asset: 'a' }, finding: { title: 'x', category: 'other', severity: 'low', asset: { name: 'a', type: 'other' }, fingerprint } } })

t.test('a chunk is grouped by fingerprint in report order; skipped and rejected results are counted', async (t) => {
  const tally: Tally = { counts: emptyCounts(5), errors: [] }
  const groups = groupByFingerprint([
    finding('f1', '/0'), { path: '/1', requestId: '/1', scope: { tool: 't', category: '' }, scopeKey: 'sarif:k:', mapped: { kind: 'skipped', reason: 'pass' } }, finding('f2', '/2'), finding('f1', '/3'),
    { path: '/4', requestId: '/4', scope: { tool: 't', category: '' }, scopeKey: 'sarif:k:', mapped: { kind: 'rejected', message: 'no rule' } }
  ], tally)
  t.same([...groups.entries()].map(([fingerprint, group]) => [fingerprint, group.map(({ path }) => path)]), [['f1', ['/0', '/3']], ['f2', ['/2']]])
  t.match(tally, { counts: { skipped: 1, rejected: 1 }, errors: [{ path: '/4', message: 'no rule' }] })
})

t.test('rejections are all counted; only the first 100 keep their error, each at most 500 characters', async (t) => {
  const tally: Tally = { counts: emptyCounts(150), errors: [] }
  for (let i = 0; i < 150; i++) reject(tally, `/${i}`, 'x'.repeat(600))
  t.equal(tally.counts.rejected, 150)
  t.equal(tally.errors.length, 100)
  t.equal(tally.errors[0]!.message.length, 500)
})

t.test('a result is rejected when the record rules refuse it, not for a fault of the moment', async (t) => {
  t.ok(isRefusal(invalidFields([{ path: '/title', message: 'is required' }])))
  t.ok(isRefusal(new IllegalTransitionError('open', 'x', 'y')))
  t.ok(isRefusal(new IngestConflictError()))
  t.ok(isRefusal(new NotFoundError('gone')))
  t.notOk(isRefusal(new StoreUnavailableError()), 'the store being down stops the import (it is taken up again)')
  t.notOk(isRefusal(new DuplicateFingerprintError('r')), 'a race is retried, never a rejection by itself')
  t.notOk(isRefusal(new PreconditionFailedError('"1"')))
  t.notOk(isRefusal(Object.assign(new Error('teapot'), { statusCode: 418 })), 'a status code alone decides nothing')
})

t.test('a result\'s record id is a UUIDv7 of the import\'s time, the same for the same import and fingerprint', async (t) => {
  const state = { id: '01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e5f', createdAt: '2026-12-06T10:00:00.000Z' }
  const id = importRecordId(state, 'f1')
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(parseInt(id.replaceAll('-', '').slice(0, 12), 16), Date.parse(state.createdAt))
  t.equal(importRecordId(state, 'f1'), id)
  t.not(importRecordId(state, 'f2'), id)
  t.not(importRecordId({ ...state, id: '01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e60' }, 'f1'), id)
})

t.test('a result whose last change was its own counts as what that change was', async (t) => {
  const change = (action: RecordChange['action'], changes: RecordChange['changes']) => ({ version: 2, action, at: '', actor: { type: 'client', id: 's', clientId: 'c' }, requestId: 'r', changes }) as RecordChange
  t.equal(outcomeOf(change('created', [])), 'created')
  t.equal(outcomeOf(change('updated', [{ path: '/status', from: 'resolved', to: 'open' }] as never)), 'reopened')
  t.equal(outcomeOf(change('updated', [{ path: '/title', from: 'a', to: 'b' }] as never)), 'updated')
})
