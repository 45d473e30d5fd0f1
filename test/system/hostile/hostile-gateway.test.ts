import t from 'tap'
import { startGatewayTarget } from './gateway-target.ts'
import { runHostileRequests } from './hostile-requests.ts'

// The seeded suite of hostile-input.test.ts through the gateway of a started stack, over real
// sockets: the gateway's own answers (401, 404, 400, 414) and the functions' behind it.
const seed = Number(process.env.HOSTILE_SEED ?? 20_240_308)
const numRuns = Number(process.env.HOSTILE_RUNS ?? 1500)

t.test(`${numRuns} generated hostile requests through the gateway: each a 4xx problem+json in time, no 5xx, nothing stored changes`, async (t) => {
  const report = await runHostileRequests(t, { seed, numRuns, target: await startGatewayTarget(t) })
  t.equal(report.requests, numRuns)
})
