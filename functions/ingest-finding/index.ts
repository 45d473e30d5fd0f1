import { buildApp } from '../../shared/app.ts'
import { createEventSink } from '../../shared/events/record-events.ts'
import { startFunction, type FunctionDefinition } from '../../shared/server.ts'
import { createStore } from '../../shared/store/client.ts'
import { IngestConfigSchema } from './config.ts'
import ingestFindingRoute from './route.ts'

/** ingest-finding: the broker's subscriber; the store and the sink, no token settings. */
export const definition: FunctionDefinition<typeof IngestConfigSchema> = {
  name: 'ingest-finding',
  configSchema: IngestConfigSchema,
  async build (config) {
    const store = createStore(config)
    const app = await buildApp({ config, store, routes: ingestFindingRoute, eventSink: createEventSink(config.K_SINK) })
    app.addHook('onClose', async () => store.client.destroy())
    return app
  }
}

if (import.meta.main) await startFunction(definition)
