import t from 'tap'
import type { LogPiece } from '../../../shared/imports/report-format.ts'
import { cyclonedx } from '../../../shared/imports/cyclonedx/cyclonedx-format.ts'
import { ReportScanner, SCAN_LIMITS } from '../../../shared/imports/report-scanner.ts'
import { sarif } from '../../../shared/imports/sarif/sarif-format.ts'

const log = JSON.stringify({
  version: '2.1.0',
  runs: [{
    tool: { driver: { name: 'Scan\u00e9r "quoted" \\ back', rules: [{ id: 'r1' }] } },
    results: [
      { ruleId: 'r1', message: { text: 'line one\nline two\ttabbed \ud83d\ude00 done' }, properties: { 'na\u00efve key': 1, 'esc\\aped"key': [true, null, -1.5e3] } },
      { ruleId: 'r1', message: { text: '' }, locations: [] }
    ]
  }]
}).replace('"ruleId":"r1","message":{"text":""}', '"\\u0072uleId":"r1","message":{"text":""}')

function scan (pieces: string[]): LogPiece[] {
  const scanner = new ReportScanner(sarif.paths)
  const out = pieces.flatMap((piece) => scanner.push(piece))
  return [...out, ...scanner.end()]
}

t.test('the scanner hands out the same pieces whether the text comes whole or one character at a time', async (t) => {
  const whole = scan([log])
  t.same(scan([...log]), whole)
  t.same(scan(log.match(/[\s\S]{1,7}/g)!), whole)
  const results = whole.filter((piece) => piece.kind === 'result')
  t.same(results.map((piece) => JSON.parse(piece.json)), JSON.parse(log.replace('\\u0072uleId', 'ruleId')).runs[0].results, 'each result as its exact JSON text')
  t.match(whole.find((piece) => piece.kind === 'runMember'), { key: 'tool', value: { driver: { name: 'Scan\u00e9r "quoted" \\ back' } } })
})

t.test('member names are compared decoded: an escaped spelling of a name already there is a duplicate', async (t) => {
  t.throws(() => scan(['{"version":"2.1.0","ver', 'sion":"2.1.0"}']), /duplicate member name "version"/)
  t.throws(() => scan(['{"a\\u00', '62":1,"ab":2}']), /duplicate member name "ab"/)
  t.same(scan(['{"version":"2.1.0","runs":[],"a\\"b":1,"a\\\\b":2}']).map((piece) => piece.kind), ['header'], 'different names that both need decoding')
})

t.test('a BOM\'s components are handed out one by one as they end, each reduced to the strings a finding names it by', async (t) => {
  const bom = JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    components: [
      { 'bom-ref': 'a', name: 'a\u00e9', version: '1', purl: 'pkg:npm/a@1', hashes: [{ alg: 'SHA-256', content: 'ff' }], components: [{ 'bom-ref': 'a/b', name: 'b', version: 2 }] },
      'not a component',
      { name: 'c', description: 'x'.repeat(100), properties: [{ name: 'bom-ref', value: 'not this' }] }
    ],
    vulnerabilities: [{ id: 'CVE-2024-0001' }]
  })
  const scanBom = (pieces: string[]) => {
    const scanner = new ReportScanner(cyclonedx.paths)
    return [...pieces.flatMap((piece) => scanner.push(piece)), ...scanner.end()]
  }
  const whole = scanBom([bom])
  t.same(scanBom([...bom]), whole, 'the same, a character at a time')
  t.same(whole.filter((piece) => piece.kind === 'element'), [
    { kind: 'element', run: 0, key: 'components', value: { 'bom-ref': 'a/b', name: 'b' } },
    { kind: 'element', run: 0, key: 'components', value: { 'bom-ref': 'a', name: 'a\u00e9', version: '1', purl: 'pkg:npm/a@1' } },
    { kind: 'element', run: 0, key: 'components', value: { name: 'c' } }
  ], 'nested ones first (they end first); a version that is no string is not kept')
  t.notOk(whole.some((piece) => piece.kind === 'runMember' && piece.key === 'components'), 'the list is never kept whole')
  t.equal(whole.filter((piece) => piece.kind === 'result').length, 1)
})

t.test('what is kept of components is bounded: a member over its length is dropped, the kept characters refuse the report', async (t) => {
  const scanBom = (text: string) => {
    const scanner = new ReportScanner(cyclonedx.paths)
    return [...scanner.push(text), ...scanner.end()]
  }
  const long = 'x'.repeat(SCAN_LIMITS.streamedValueChars)
  t.same(scanBom(`{"bomFormat":"CycloneDX","components":[{"bom-ref":"${long}","name":"n"}]}`).filter((piece) => piece.kind === 'element').map((piece) => piece.value), [{ name: 'n' }])
  const ref = 'r'.repeat(SCAN_LIMITS.streamedValueChars - 10)
  const count = Math.ceil(SCAN_LIMITS.streamedChars / ref.length) + 1
  t.ok(count <= SCAN_LIMITS.streamedElements, 'the characters are the bound here, not the count')
  const components = Array.from({ length: count }, () => `{"bom-ref":"${ref}"}`).join(',')
  t.throws(() => scanBom(`{"bomFormat":"CycloneDX","components":[${components}]}`), { statusCode: 413, message: new RegExp(`the components kept hold more than ${SCAN_LIMITS.streamedChars} characters`) })
})

t.test('a purl that is also the component\'s bom-ref counts once against the kept characters', async (t) => {
  const ref = 'pkg:npm/' + 'p'.repeat(SCAN_LIMITS.streamedValueChars - 20)
  const count = Math.floor(SCAN_LIMITS.streamedChars / (ref.length + 2)) - 1
  const components = Array.from({ length: count }, () => `{"bom-ref":"${ref}","purl":"${ref}"}`).join(',')
  const scanner = new ReportScanner(cyclonedx.paths)
  const pieces = [...scanner.push(`{"bomFormat":"CycloneDX","components":[${components}]}`), ...scanner.end()]
  t.equal(pieces.filter((piece) => piece.kind === 'element').length, count, 'twice the characters would be over the bound; once they are not')
})
