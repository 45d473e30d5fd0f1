import type { Test } from 'tap'
import { startLocalStack, type LocalStack } from '../../local-dev/stack.ts'

/** The local stack in memory on a free port, silent, no sweeper, with these settings over the environment's; closed at teardown. */
export async function startMemoryStack (t: Test, settings: Record<string, string> = {}): Promise<LocalStack> {
  const stack = await startLocalStack({
    port: 0,
    host: '127.0.0.1',
    dataDir: ':memory:',
    logLevel: 'silent',
    sweepIntervalMs: 0,
    env: { ...process.env, ...settings }
  })
  t.teardown(() => stack.close())
  return stack
}
