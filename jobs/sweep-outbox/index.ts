/**
 * The outbox sweeper (a Kubernetes CronJob in the cluster): finishes record changes whose
 * function died before writing the history entry, delivers CloudEvents a sink refused, and
 * resumes report imports whose processor stopped.
 * Reads the same settings as the record functions' store (and K_SINK); exits non-zero on failure.
 */
import { Type } from 'typebox'
import { ConfigSchema, loadSettings } from '../../shared/config.ts'
import { createEventSink } from '../../shared/events/record-events.ts'
import { createDataLayer } from '../../shared/operations/data-layer.ts'
import { sweepOutbox } from './sweep-outbox.ts'
import { createStore } from '../../shared/store/client.ts'

const { LOG_LEVEL, TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS, K_SINK, K_SINK_TOKEN_FILE } = ConfigSchema.properties
const SweeperConfig = Type.Object({
  LOG_LEVEL, TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS, K_SINK, K_SINK_TOKEN_FILE,
  SWEEP_MIN_AGE_SECONDS: Type.Integer({ minimum: 0, maximum: 86_400, default: 60, description: 'Only entries older than this are swept (younger ones are being finished by their writer).' })
})

const config = loadSettings(SweeperConfig, process.env)
const store = createStore(config)
const data = createDataLayer(store, { sink: createEventSink(config.K_SINK, { tokenFile: config.K_SINK_TOKEN_FILE }), log: console })
try {
  const { settled, delivered, imports } = await sweepOutbox(data, { olderThanMs: config.SWEEP_MIN_AGE_SECONDS * 1000 })
  console.log(JSON.stringify({ msg: 'outbox swept', settled, delivered, imports }))
} catch (error) {
  console.error(JSON.stringify({ msg: 'outbox sweep failed', error: (error as Error).message }))
  process.exitCode = 1
} finally {
  store.client.destroy()
}
