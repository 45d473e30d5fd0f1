import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import dynalite from 'dynalite'
import { createStore, type Store } from '../../shared/store/client.ts'
import { historySortKey } from '../../shared/store/keys.ts'
import { ensureTable } from '../../shared/store/table.ts'

export interface TestStore extends Store {
  endpoint: string
  /** Every command the data layer sent, by name and input (to prove what it did). */
  commands: Array<{ name: string, input: Record<string, unknown> }>
  close (): Promise<void>
}

/**
 * A real store for a test: the DynamoDB-compatible endpoint in DYNAMODB_ENDPOINT (DynamoDB Local
 * in `npm run test:dynamodb-local`), else an in-memory dynalite started for this test file.
 * Each call gets its own table, so tests never see each other's items.
 */
export async function startTestStore (): Promise<TestStore> {
  let endpoint = process.env.DYNAMODB_ENDPOINT
  let stopServer = async () => {}
  if (!endpoint) {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    stopServer = () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
  const tableName = `test-${randomUUID()}`
  const store = createStore({ DYNAMODB_ENDPOINT: endpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 5000, STORE_MAX_ATTEMPTS: 2, TABLE_NAME: tableName }, {})
  const commands: TestStore['commands'] = []
  store.client.middlewareStack.add((next, context) => async (args) => {
    commands.push({ name: String(context.commandName), input: args.input as Record<string, unknown> })
    return next(args)
  }, { step: 'initialize', name: 'recordCommands' })
  await ensureTable(store.client, tableName)
  return {
    ...store,
    endpoint,
    commands,
    async close () {
      store.client.destroy()
      await stopServer()
    }
  }
}

/**
 * Fault injection without a test hook in production code: while `crash()` returns an error, the
 * store refuses every history entry write with it. To the data layer that is a function dying
 * right after a record write committed, before its history entry and event.
 */
export function crashBeforeHistoryWrites (store: Store, crash: () => Error | undefined): void {
  store.client.middlewareStack.add((next, context) => async (args) => {
    const error = /^Put(Item)?Command$/.test(String(context.commandName)) && JSON.stringify((args.input as { Item?: unknown }).Item ?? {}).includes(`"${historySortKey(0).replace(/\d+$/, '')}`) ? crash() : undefined
    if (error) throw error
    return next(args)
  }, { step: 'initialize', name: 'crashBeforeHistoryWrites' })
}
