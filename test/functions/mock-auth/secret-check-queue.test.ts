import t from 'tap'
import { createSecretCheckQueue, SECRET_CHECK_LIMITS } from '../../../functions/mock-auth/secret-check-queue.ts'

const { concurrency, maxWaitingPerLane, trustedTurns } = SECRET_CHECK_LIMITS

/** Checks that finish when the test says so, recording the order they started in. */
function controllableChecks () {
  const started: string[] = []
  const finishers = new Map<string, () => void>()
  let running = 0
  let mostAtOnce = 0
  const check = (name: string) => () => new Promise<string>((resolve) => {
    started.push(name)
    running++
    mostAtOnce = Math.max(mostAtOnce, running)
    finishers.set(name, () => { running--; resolve(name) })
  })
  const finish = async (name: string) => {
    finishers.get(name)!()
    // Let the queue start the next checks.
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { started, check, finish, mostAtOnce: () => mostAtOnce }
}

t.test(`never more than ${concurrency} checks run at once; the rest wait and all finish`, async (t) => {
  const queue = createSecretCheckQueue()
  const checks = controllableChecks()
  const names = Array.from({ length: 10 }, (_, index) => `c${index}`)
  const results = names.map((name) => queue.run({ trusted: false, key: 'one-address' }, checks.check(name)))
  t.same(checks.started, names.slice(0, concurrency))
  for (const name of names) await checks.finish(name)
  t.same(await Promise.all(results), names)
  t.equal(checks.mostAtOnce(), concurrency)
})

t.test('trusted checks overtake waiting ones, but every few turns another one goes: nobody starves', async (t) => {
  const queue = createSecretCheckQueue()
  const checks = controllableChecks()
  const running = Array.from({ length: concurrency }, (_, index) => `busy${index}`)
  for (const name of running) void queue.run({ trusted: false, key: 'flood' }, checks.check(name))
  for (let index = 0; index < 4; index++) void queue.run({ trusted: false, key: 'flood' }, checks.check(`flood${index}`))
  for (let index = 0; index < 8; index++) void queue.run({ trusted: true, key: 'client' }, checks.check(`trusted${index}`))
  for (const name of running) await checks.finish(name)
  let finished = 0
  while (checks.started.length < running.length + 12) await checks.finish(checks.started[running.length + finished++]!)
  const order = checks.started.slice(running.length)
  t.same(order.slice(0, trustedTurns), Array.from({ length: trustedTurns }, (_, index) => `trusted${index}`), 'trusted first')
  t.equal(order[trustedTurns], 'flood0', 'then one of the others')
  t.same(order.filter((name) => name.startsWith('flood')), ['flood0', 'flood1', 'flood2', 'flood3'], 'the others keep their order and all run')
})

t.test('within a lane, keys take turns: a flood from one key does not go before everyone else', async (t) => {
  const queue = createSecretCheckQueue()
  const checks = controllableChecks()
  for (let index = 0; index < concurrency; index++) void queue.run({ trusted: false, key: 'flood' }, checks.check(`busy${index}`))
  for (let index = 0; index < 5; index++) void queue.run({ trusted: false, key: 'flood' }, checks.check(`flood${index}`))
  void queue.run({ trusted: false, key: 'newcomer' }, checks.check('newcomer'))
  await checks.finish('busy0')
  await checks.finish('busy1')
  t.same(checks.started.slice(concurrency, concurrency + 2), ['flood0', 'newcomer'], 'the newcomer goes second, not sixth')
})

t.test(`a lane with ${maxWaitingPerLane} checks waiting refuses the next with 503 temporarily_unavailable; the other lane still queues`, async (t) => {
  const queue = createSecretCheckQueue()
  const checks = controllableChecks()
  for (let index = 0; index < concurrency + maxWaitingPerLane; index++) void queue.run({ trusted: false, key: `k${index}` }, checks.check(`c${index}`))
  await t.rejects(queue.run({ trusted: false, key: 'late' }, checks.check('late')), { statusCode: 503, code: 'OAUTH_TEMPORARILY_UNAVAILABLE', retryAfterSeconds: 1 })
  t.notOk(checks.started.includes('late'), 'never run')
  const trusted = queue.run({ trusted: true, key: 'client' }, checks.check('trusted'))
  await checks.finish('c0')
  t.equal(checks.started.at(-1), 'trusted', 'the trusted lane has room, and goes next')
  await checks.finish('trusted')
  t.equal(await trusted, 'trusted')
})

t.test('a check that fails frees its slot', async (t) => {
  const queue = createSecretCheckQueue()
  const failing = Array.from({ length: concurrency }, () => queue.run({ trusted: false, key: 'k' }, async () => { throw new Error('scrypt failed') }))
  for (const result of failing) await t.rejects(result, /scrypt failed/)
  t.equal(await queue.run({ trusted: true, key: 'k' }, async () => 'ran'), 'ran')
})
