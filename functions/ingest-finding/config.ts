import { Type, type Static } from 'typebox'
import { ConfigSchema, loadSettings } from '../../shared/config.ts'

const { PORT, HOST, LOG_LEVEL, TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS, K_SINK } = ConfigSchema.properties

/** ingest-finding is reached by the broker only: it needs the store and the sink, no token settings. */
export const IngestConfigSchema = Type.Object({ PORT, HOST, LOG_LEVEL, TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS, K_SINK })
export type IngestConfig = Static<typeof IngestConfigSchema>

export function loadIngestConfig (env: Record<string, string | undefined> = process.env): IngestConfig {
  return loadSettings(IngestConfigSchema, env)
}
