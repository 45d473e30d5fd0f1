/**
 * Creates the table and its indexes when they are missing, then exits: the cluster's bootstrap Job
 * (`dist/jobs/create-table/index.mjs` in the image), and `node jobs/create-table/index.ts` by hand.
 * Idempotent, so the Job can run on every deploy. Uses the same table definition as the local stack.
 */
import { Type, type Static } from 'typebox'
import { ConfigSchema, loadSettings } from '../../shared/config.ts'
import { createStore } from '../../shared/store/client.ts'
import { ensureTable } from '../../shared/store/table.ts'

const { TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS } = ConfigSchema.properties

/** The store settings of the functions' own configuration, plus how long to wait for the indexes. */
export const CreateTableConfigSchema = Type.Object({
  TABLE_NAME,
  DYNAMODB_ENDPOINT,
  AWS_REGION,
  STORE_TIMEOUT_MS,
  STORE_MAX_ATTEMPTS,
  TABLE_READY_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 300_000, description: 'How long to wait for the table and its indexes to become ACTIVE.' })
})
export type CreateTableConfig = Static<typeof CreateTableConfigSchema>

export function loadCreateTableConfig (env: Record<string, string | undefined> = process.env): CreateTableConfig {
  return loadSettings(CreateTableConfigSchema, env)
}

export async function createTable (config: CreateTableConfig) {
  const store = createStore(config)
  try {
    const started = Date.now()
    const result = await ensureTable(store.client, config.TABLE_NAME, { timeoutMs: config.TABLE_READY_TIMEOUT_MS })
    return { table: config.TABLE_NAME, endpoint: config.DYNAMODB_ENDPOINT ?? `aws:${config.AWS_REGION}`, ...result, ms: Date.now() - started }
  } finally {
    store.client.destroy()
  }
}

if (import.meta.main) {
  try {
    const outcome = await createTable(loadCreateTableConfig())
    console.log(JSON.stringify({ level: 'info', msg: outcome.created ? 'table created' : 'table already present', ...outcome }))
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'create-table failed', error: (error as Error).message, name: (error as Error).name }))
    process.exitCode = 1
  }
}
