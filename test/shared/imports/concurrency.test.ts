import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { inPool, whenBothEnded } from '../../../shared/imports/concurrency.ts'

t.test('inPool runs every item, never more than its concurrency at once', async (t) => {
  let running = 0
  let most = 0
  const done: number[] = []
  await inPool([1, 2, 3, 4, 5, 6, 7], async (item) => {
    running++
    most = Math.max(most, running)
    await sleep(item % 3)
    done.push(item)
    running--
  }, 3)
  t.equal(most, 3)
  t.same(done.sort(), [1, 2, 3, 4, 5, 6, 7])
})

t.test('after a failure inPool starts no item, and throws once the ones under way ended', async (t) => {
  const started: number[] = []
  let slowEnded = false
  await t.rejects(inPool([1, 2, 3, 4, 5], async (item) => {
    started.push(item)
    if (item === 1) {
      await sleep(20)
      slowEnded = true
    }
    if (item === 2) throw new Error('two failed')
  }, 2), /two failed/)
  t.same(started, [1, 2], 'nothing started after the failure')
  t.ok(slowEnded, 'the item under way ended before the failure was thrown')
})

t.test('inPool over no items does nothing', async (t) => {
  await inPool([], async () => { throw new Error('never') })
  t.pass()
})

t.test('whenBothEnded says whether the lease held, and throws either failure only once both ended', async (t) => {
  t.equal(await whenBothEnded(Promise.resolve(true), Promise.resolve()), true)
  t.equal(await whenBothEnded(Promise.resolve(false), Promise.resolve()), false)
  let writingEnded = false
  await t.rejects(whenBothEnded(Promise.reject(new Error('lease')), sleep(10).then(() => { writingEnded = true })), /lease/)
  t.ok(writingEnded)
  await t.rejects(whenBothEnded(Promise.resolve(true), Promise.reject(new Error('write'))), /write/)
})
