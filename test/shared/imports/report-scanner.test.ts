import t from 'tap'
import type { LogPiece } from '../../../shared/imports/report-format.ts'
import { ReportScanner } from '../../../shared/imports/report-scanner.ts'
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
