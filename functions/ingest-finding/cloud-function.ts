/**
 * The same handler registered with the Functions Framework, for runtimes that host
 * CloudEvent functions themselves (Cloud Run functions, `functions-framework --target`).
 * Note: the framework answers every thrown error with 500, so there invalid events are retried
 * until the broker's retry limit; the Knative deployment uses ./index.ts, which answers 400.
 */
import * as functions from '@google-cloud/functions-framework'
import { createEventSink } from '../../shared/events/record-events.ts'
import { createDataLayer } from '../../shared/operations/data-layer.ts'
import { createStore } from '../../shared/store/client.ts'
import { loadIngestConfig } from './config.ts'
import { createIngestFindingHandler } from './handler.ts'

const config = loadIngestConfig()
const data = createDataLayer(createStore(config), { sink: createEventSink(config.K_SINK), log: console })
functions.cloudEvent('ingestFinding', createIngestFindingHandler(data) as never)
