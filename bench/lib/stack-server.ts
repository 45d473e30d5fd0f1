/**
 * The local stack (`npm start`'s startLocalStack) as the benchmark runs it: on a free port, over
 * the benchmark's store (BENCH_STORE_ENDPOINT, TABLE_NAME), nothing persisted, no sweeper.
 * Prints `{"url": "..."}` once serving; exits when its parent goes away.
 */
import { startLocalStack } from '../../local-dev/stack.ts'

const stack = await startLocalStack({
  port: 0,
  host: '127.0.0.1',
  dataDir: ':memory:',
  dynamodbEndpoint: process.env.BENCH_STORE_ENDPOINT!,
  tableName: process.env.TABLE_NAME!,
  logLevel: 'warn',
  sweepIntervalMs: 0
})
process.stdout.write(`${JSON.stringify({ url: stack.url })}\n`)
const stop = () => { stack.close().then(() => process.exit(0), () => process.exit(1)) }
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.stdin.on('end', stop).resume()
