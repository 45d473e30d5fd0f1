import t from 'tap'
import { diffRecords } from '../../../shared/records/change.ts'
import type { SecurityRecord } from '../../../shared/records/schema.ts'

const base = {
  id: '0190b6a0-0000-7000-8000-000000000001',
  version: 1,
  title: 'xz backdoor',
  category: 'vulnerability',
  severity: 'critical',
  status: 'open',
  asset: { name: 'payments-api', type: 'service', environment: 'production' },
  tags: ['supply-chain'],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  statusChangedAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'alice',
  updatedBy: 'alice'
} as unknown as SecurityRecord

t.test('a created record lists every client-visible top-level field as changed from null', async (t) => {
  const changes = diffRecords(undefined, base)
  t.same(changes.map((change) => change.path), ['/asset', '/category', '/severity', '/status', '/tags', '/title'])
  t.ok(changes.every((change) => change.from === null), 'nothing existed before')
})

t.test('bookkeeping fields (id, version, timestamps, actors) are never reported', async (t) => {
  const next = { ...base, version: 2, updatedAt: '2026-02-01T00:00:00.000Z', updatedBy: 'bob', statusChangedAt: '2026-02-01T00:00:00.000Z' }
  t.same(diffRecords(base, next), [])
})

t.test('nested objects are compared field by field, arrays as a whole, removals as a change to null', async (t) => {
  const next = { ...base, asset: { ...base.asset, environment: 'staging' }, tags: ['supply-chain', 'linux'] } as SecurityRecord
  delete (next as Partial<SecurityRecord>).severity
  t.same(diffRecords(base, next), [
    { path: '/asset/environment', from: 'production', to: 'staging' },
    { path: '/severity', from: 'critical', to: null },
    { path: '/tags', from: ['supply-chain'], to: ['supply-chain', 'linux'] }
  ])
})

t.test('paths escape ~ and / as RFC 6901 JSON Pointers', async (t) => {
  const before = { ...base, source: { 'a/b~c': 1 } } as unknown as SecurityRecord
  const after = { ...base, source: { 'a/b~c': 2 } } as unknown as SecurityRecord
  t.same(diffRecords(before, after), [{ path: '/source/a~1b~0c', from: 1, to: 2 }])
})
