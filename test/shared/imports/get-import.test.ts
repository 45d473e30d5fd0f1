import t from 'tap'
import { importView } from '../../../shared/imports/get-import.ts'
import { emptyCounts } from '../../../shared/records/report-import.ts'
import type { ImportState } from '../../../shared/store/imports-repository.ts'

const state: ImportState = {
  id: '01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e5f',
  tenant: 'local',
  status: 'succeeded',
  format: 'sarif',
  tool: { name: 'CodeQL', version: '2.20.0' },
  scopes: [{ tool: 'CodeQL', category: 'js' }, { tool: 'Semgrep', category: '' }],
  asset: { name: 'shop', type: 'repository', environment: 'production' },
  counts: emptyCounts(0),
  errors: [],
  createdAt: '2026-12-06T10:00:00.000Z',
  finishedAt: '2026-12-06T10:00:01.000Z',
  createdBy: 'local-admin',
  actor: { sub: 'local-admin', clientId: 'local-admin' },
  chunkCount: 0,
  runParts: 1,
  processedChunks: 0
}

t.test('an import is shown with its scopes (each with the asset stored once beside them) and none of its bookkeeping', async (t) => {
  const view = importView(state)
  t.same(view.scopes, [{ tool: 'CodeQL', category: 'js', asset: 'shop' }, { tool: 'Semgrep', category: '', asset: 'shop' }])
  t.same(view.scope, view.scopes[0])
  t.same(Object.keys(view).sort(), ['asset', 'counts', 'createdAt', 'createdBy', 'errors', 'finishedAt', 'id', 'scope', 'scopes', 'status', 'tool'])
})
