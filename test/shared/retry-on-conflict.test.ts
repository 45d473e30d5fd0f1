import t from 'tap'
import { retryOnConflict } from '../../shared/retry-on-conflict.ts'

class Conflict extends Error {}
const options = { attempts: 3, isConflict: (error: unknown) => error instanceof Conflict, exhausted: () => new Error('kept conflicting') }

t.test('a conflict is retried with the next attempt, and the first success is the answer', async (t) => {
  const seen: number[] = []
  const result = await retryOnConflict(options, async (index) => {
    seen.push(index)
    if (index < 2) throw new Conflict()
    return 'written'
  })
  t.equal(result, 'written')
  t.same(seen, [0, 1, 2])
})

t.test('any other failure is thrown at once', async (t) => {
  let calls = 0
  await t.rejects(retryOnConflict(options, async () => { calls++; throw new Error('store down') }), /store down/)
  t.equal(calls, 1)
})

t.test('when every attempt meets a conflict, the exhausted error is thrown', async (t) => {
  let calls = 0
  await t.rejects(retryOnConflict(options, async () => { calls++; throw new Conflict() }), /kept conflicting/)
  t.equal(calls, 3)
})
