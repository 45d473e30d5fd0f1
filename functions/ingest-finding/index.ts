import { buildApp } from '../../shared/app.ts'
import { createEventSink } from '../../shared/events/record-events.ts'
import { closeOnSignals } from '../../shared/server.ts'
import { createStore } from '../../shared/store/client.ts'
import { loadIngestConfig, type IngestConfig } from './config.ts'
import ingestFindingRoute from './route.ts'

let config: IngestConfig
try {
  config = loadIngestConfig()
} catch (error) {
  console.error(`ingest-finding: ${(error as Error).message}`)
  process.exit(1)
}
const store = createStore(config)
const app = await buildApp({ config, store, routes: ingestFindingRoute, eventSink: createEventSink(config.K_SINK) })
app.addHook('onClose', async () => store.client.destroy())
await app.listen({ port: config.PORT, host: config.HOST })
closeOnSignals(app, 'ingest-finding')
