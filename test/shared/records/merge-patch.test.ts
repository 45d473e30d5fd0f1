import fc from 'fast-check'
import t from 'tap'
import { jsonEqual, mergePatch } from '../../../shared/records/merge-patch.ts'

// The examples of RFC 7396, Appendix A: target, patch, result.
const rfc7396Examples: Array<[unknown, unknown, unknown]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }]
]

t.test('mergePatch gives every result of RFC 7396 Appendix A', async (t) => {
  for (const [target, patch, expected] of rfc7396Examples) {
    t.same(mergePatch(target, patch), expected, `${JSON.stringify(target)} + ${JSON.stringify(patch)}`)
  }
})

t.test('mergePatch never changes its inputs', async (t) => {
  const target = { a: { b: 1 }, c: [1] }
  const patch = { a: { b: null, d: 2 } }
  mergePatch(target, patch)
  t.same(target, { a: { b: 1 }, c: [1] })
  t.same(patch, { a: { b: null, d: 2 } })
})

t.test('patching with a null-free object is idempotent, and an empty patch changes nothing', async () => {
  const json = fc.jsonValue({ maxDepth: 3 })
  fc.assert(fc.property(fc.dictionary(fc.string(), json), fc.dictionary(fc.string(), json), (target, patch) => {
    const once = mergePatch(target, patch)
    return jsonEqual(mergePatch(once, patch), once) && jsonEqual(mergePatch(target, {}), target)
  }))
})

t.test('jsonEqual ignores key order and tells arrays, objects and scalars apart', async (t) => {
  t.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }))
  t.notOk(jsonEqual([1, 2], [2, 1]), 'array order matters')
  t.notOk(jsonEqual({ a: undefined }, {}), 'a present key is not an absent one')
  t.notOk(jsonEqual({}, []), 'an object is not an array')
  t.notOk(jsonEqual('1', 1))
})
