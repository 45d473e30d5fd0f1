/**
 * Creates the table and its indexes when they are missing, then exits: the cluster's bootstrap Job
 * (`dist/jobs/create-table/index.mjs` in the image), and `node jobs/create-table/index.ts` by hand.
 * Idempotent, so the Job can run on every deploy. Uses the same table definition as the local stack.
 */
import { Type, type Static } from 'typebox'
import { ConfigSchema, loadSettings } from '../../shared/config.ts'
import { createStore } from '../../shared/store/client.ts'
import { DEFAULT_INDEX_SHARDS, MAX_INDEX_SHARDS } from '../../shared/store/keys.ts'
import { ensureTable } from '../../shared/store/table.ts'

const { TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS } = ConfigSchema.properties

/** The store settings of the functions' own configuration. */
export const storeSettings = { TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS }

/** The store settings of the functions' own configuration, plus how long to wait for the indexes. */
export const CreateTableConfigSchema = Type.Object({
  ...storeSettings,
  TABLE_READY_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 300_000, description: 'How long to wait for the table and its indexes to become ACTIVE.' }),
  INDEX_SHARDS: Type.Integer({ minimum: 1, maximum: MAX_INDEX_SHARDS, default: DEFAULT_INDEX_SHARDS, description: 'Shards per growing index partition of a new table (docs/sizing.md); recorded in the table, where every function reads it. An existing table keeps its own: jobs/reshard-indexes changes it.' })
})
export type CreateTableConfig = Static<typeof CreateTableConfigSchema>

export function loadCreateTableConfig (env: Record<string, string | undefined> = process.env): CreateTableConfig {
  return loadSettings(CreateTableConfigSchema, env)
}

export async function createTable (config: CreateTableConfig) {
  const store = createStore(config)
  try {
    const started = Date.now()
    const result = await ensureTable(store.client, config.TABLE_NAME, { timeoutMs: config.TABLE_READY_TIMEOUT_MS, indexShards: config.INDEX_SHARDS })
    const layoutDiffers = result.layout.shards !== config.INDEX_SHARDS || result.layout.alsoRead.length > 0
    return { table: config.TABLE_NAME, endpoint: config.DYNAMODB_ENDPOINT ?? `aws:${config.AWS_REGION}`, ...result, layoutDiffers, ms: Date.now() - started }
  } finally {
    store.client.destroy()
  }
}

if (import.meta.main) {
  try {
    const outcome = await createTable(loadCreateTableConfig())
    console.log(JSON.stringify({ level: 'info', msg: outcome.created ? 'table created' : 'table already present', ...outcome }))
    // Not a failure: the table works in the layout it records; the reshard job moves it to INDEX_SHARDS.
    if (outcome.layoutDiffers) console.log(JSON.stringify({ level: 'warn', msg: 'the table records another index layout than INDEX_SHARDS; run jobs/reshard-indexes to change it', recorded: outcome.layout }))
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'create-table failed', error: (error as Error).message, name: (error as Error).name }))
    process.exitCode = 1
  }
}
