import t from 'tap'
import { startGatewayTarget } from './gateway-target.ts'
import { runHostileRequests } from './hostile-requests.ts'

// `npm run test:resilience`: the property of hostile-gateway.test.ts, more cases, three other seeds.
// Half the inject() suite's count: through sockets they take longer, and the file has the same time limit.
const runs = Number(process.env.HOSTILE_RUNS ?? 2000)

for (const seed of [7_331, 424_242, 90_210]) {
  t.test(`${runs} more generated hostile requests through the gateway (seed ${seed}): each a 4xx problem+json in time, nothing stored changes`, async (t) => {
    const report = await runHostileRequests(t, { seed, numRuns: runs, target: await startGatewayTarget(t) })
    t.equal(report.requests, runs)
  })
}
