import t from 'tap'
import { mapChunk, RepeatedResults, ReportedFingerprints, fingerprintsOf } from '../../../shared/imports/map-chunk.ts'
import type { ReportFormat } from '../../../shared/imports/report-format.ts'
import type { RunContext } from '../../../shared/imports/sarif/run-context.ts'
import { sarif } from '../../../shared/imports/sarif/sarif-format.ts'
import type { ChunkEntry } from '../../../shared/imports/stored-report.ts'

const run = sarif.runContext({ tool: { driver: { name: 'scanner', rules: [{ id: 'r1' }] } } }, undefined)
if (typeof run === 'string') throw new Error(run)
const importOf = { id: '01938f2e-9c10-7d2a-8e4f-0a1b2c3d4e5f', asset: { name: 'shop', type: 'repository' as const } }
const result = (line: number) => ({ ruleId: 'r1', message: { text: `finding on line ${line}` }, locations: [{ physicalLocation: { artifactLocation: { uri: 'a.js' }, region: { startLine: line } } }] })

t.test('each result is mapped with its run, named by its place in the report and by a request id of the import', async (t) => {
  const entries: ChunkEntry[] = [[0, 0, result(1)], [0, 1, { ruleId: 'r1', kind: 'pass' }], [0, 2, null], [0, 3, { message: { text: 'no rule' } }]]
  const mapped = mapChunk(sarif, importOf, [run], entries)
  t.same(mapped.map(({ path, requestId, mapped }) => [path, requestId, mapped.kind]), [
    ['/runs/0/results/0', `${importOf.id}:0:0`, 'finding'],
    ['/runs/0/results/1', `${importOf.id}:0:1`, 'skipped'],
    ['/runs/0/results/2', `${importOf.id}:0:2`, 'rejected'],
    ['/runs/0/results/3', `${importOf.id}:0:3`, 'rejected']
  ])
  t.match(mapped[2]!.mapped, { message: /too large to import/ })
})

t.test('a result whose record would break the record schema is rejected naming the field', async (t) => {
  const [entry] = mapChunk(sarif, { ...importOf, asset: { name: '', type: 'repository' } }, [run], [[0, 0, result(1)]])
  t.match(entry!.mapped, { kind: 'rejected', message: /^the record it maps to is invalid: \/asset\/name/ })
})

t.test('reported fingerprints: a chunk learns which of its fingerprints earlier chunks reported, per scope', async (t) => {
  const reported = new ReportedFingerprints(sarif.name, importOf.asset)
  const first = mapChunk(sarif, importOf, [run], [[0, 0, result(1)], [0, 1, result(2)]])
  const second = mapChunk(sarif, importOf, [run], [[0, 2, result(2)], [0, 3, result(3)]])
  t.same(reported.add(first).size, 0)
  const earlier = reported.add(second)
  t.same([...earlier], [fingerprintsOf(first)[1]], 'only the fingerprint the first chunk had')
  const inScope = reported.of({ tool: 'scanner', category: '' })
  for (const { mapped } of [...first, ...second]) {
    if (mapped.kind !== 'finding') continue
    t.ok(inScope.has(mapped.finding.fingerprint) && inScope.has(mapped.legacyFingerprint!), 'each fingerprint, and what the earlier scheme made of it')
  }
  t.equal(reported.of({ tool: 'other', category: '' }).size, 0)
})

t.test('repeats of a fingerprint in a report are told apart by their order, across chunks; only the first takes over a record of the earlier scheme', async (t) => {
  const repeats = new RepeatedResults()
  const first = repeats.tellApart(mapChunk(sarif, importOf, [run], [[0, 0, result(1)], [0, 1, result(1)]]))
  const second = repeats.tellApart(mapChunk(sarif, importOf, [run], [[0, 2, result(1)], [0, 3, result(2)]]))
  const [one, two, three, other] = [...first, ...second].map(({ mapped }) => mapped as Extract<typeof mapped, { kind: 'finding' }>)
  t.equal(two!.finding.fingerprint, `${one!.finding.fingerprint}#1`)
  t.equal(three!.finding.fingerprint, `${one!.finding.fingerprint}#2`)
  t.ok(one!.legacyFingerprint)
  t.notOk(two!.legacyFingerprint ?? three!.legacyFingerprint, 'the earlier scheme held one record for all of them')
  t.notOk(other!.finding.fingerprint.includes('#'))
  const again = new RepeatedResults()
  t.same([...again.tellApart(mapChunk(sarif, importOf, [run], [[0, 0, result(1)], [0, 1, result(1)]]))].map(({ mapped }) => (mapped as typeof one)!.finding.fingerprint), [one, two].map((mapped) => mapped!.finding.fingerprint), 'the same report again: the same fingerprints')
})

t.test('a result rejected by the record rules keeps its fingerprint: it counts as reported; one without a fingerprint stops its scope from resolving', async (t) => {
  const invalid: ReportFormat<RunContext> = { ...sarif, mapResult: (raw, runOf, asset, id) => {
    const mapped = sarif.mapResult(raw, runOf, asset, id)
    return mapped.kind === 'finding' ? { ...mapped, finding: { ...mapped.finding, title: '' } } : mapped
  } }
  const mapped = mapChunk(invalid as unknown as ReportFormat, importOf, [run], [[0, 0, result(1)], [0, 1, { message: { text: 'no rule' } }]])
  const fingerprint = (mapChunk(sarif, importOf, [run], [[0, 0, result(1)]])[0]!.mapped as { finding: { fingerprint: string } }).finding.fingerprint
  t.match(mapped[0]!.mapped, { kind: 'rejected', message: /\/title/, fingerprint })
  const reported = new ReportedFingerprints(sarif.name, importOf.asset)
  reported.add(mapped)
  t.ok(reported.of({ tool: 'scanner', category: '' }).has(fingerprint))
  t.equal(reported.unidentifiedIn({ tool: 'scanner', category: '' }), 1)
  t.equal(reported.unidentifiedIn({ tool: 'other', category: '' }), 0)
})
