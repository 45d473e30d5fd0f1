import t from 'tap'
import { mapResult } from '../../../../shared/imports/sarif/map-result.ts'
import { runContext } from '../../../../shared/imports/sarif/run-context.ts'
import { SARIF_VERSION } from '../../../../shared/records/import-formats.ts'
import { sarif } from '../../../../shared/imports/sarif/sarif-format.ts'

t.test('SARIF 2.1.0 as its own and as plain JSON media type, named for people and for fingerprints', async (t) => {
  t.equal(SARIF_VERSION, '2.1.0')
  t.equal(sarif.title, 'SARIF 2.1.0')
  t.equal(sarif.name, 'sarif')
  t.same(sarif.mediaTypes, ['application/sarif+json', 'application/json'])
  t.equal(sarif.runContext, runContext)
  t.equal(sarif.mapResult, mapResult)
})

t.test('the scanner keeps the version, each run\'s tool, category and artifacts, and hands out runs[*].results[*] (null where the tool did not run)', async (t) => {
  t.same(sarif.paths, { document: 'a SARIF log', header: ['version'], runs: 'runs', runMembers: ['tool', 'automationDetails', 'artifacts'], results: 'results', resultsMayBeNull: true })
})

t.test('version 2.1.0 is the profile: another version is refused as soon as it is read', async (t) => {
  t.same(sarif.checkHeader({ version: '2.1.0' }, false), [])
  t.same(sarif.checkHeader({ version: '2.1.0' }, true), [])
  t.same(sarif.checkHeader({ version: '2.0.0' }, false), [{ path: '/version', message: 'must be "2.1.0" (got "2.0.0")' }])
  t.same(sarif.checkHeader({ version: 2.1 }, true), [{ path: '/version', message: 'must be "2.1.0" (got 2.1)' }])
  t.same(sarif.checkHeader({ version: null }, false), [{ path: '/version', message: 'must be "2.1.0" (got null)' }])
})

t.test('a missing version is refused once the document ended, not while it may still come', async (t) => {
  t.same(sarif.checkHeader({}, false), [])
  t.same(sarif.checkHeader({}, true), [{ path: '/version', message: 'is required ("2.1.0")' }])
})

t.test('a long wrong version is quoted in at most 50 characters', async (t) => {
  const [problem] = sarif.checkHeader({ version: 'v'.repeat(500) }, true)
  t.equal(problem!.message, `must be "2.1.0" (got ${`"${'v'.repeat(500)}"`.slice(0, 50)})`)
  t.ok(problem!.message.length < 100)
})
