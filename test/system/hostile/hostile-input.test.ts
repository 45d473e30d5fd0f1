import t from 'tap'
import { runHostileRequests } from './hostile-requests.ts'

// Seeded: a failure names its seed and path, and the same run reproduces it. HOSTILE_SEED and
// HOSTILE_RUNS explore further without editing the test.
const seed = Number(process.env.HOSTILE_SEED ?? 20_240_308)
const numRuns = Number(process.env.HOSTILE_RUNS ?? 1500)

t.test(`${numRuns} generated hostile requests across every route: each a 4xx problem+json in time, nothing stored changes`, async (t) => {
  const report = await runHostileRequests(t, { seed, numRuns })
  t.equal(report.requests, numRuns)
})
