/**
 * The same handler registered with the Functions Framework, for runtimes that host
 * CloudEvent functions themselves (Cloud Run functions, `functions-framework --target`).
 * Note: the framework answers every thrown error with 500, so there invalid events are retried
 * until the broker's retry limit; the Knative deployment uses ./index.ts, which answers 400.
 * The framework checks no sender: the platform must (Cloud Run: no unauthenticated invocations,
 * only the Eventarc trigger's service account may invoke), and events must come from the
 * producer path (`POST /v1/findings`), which stamps the tenant and producer this reads.
 */
import * as functions from '@google-cloud/functions-framework'
import type { CloudEvent } from 'cloudevents'
import { Type } from 'typebox'
import { loadSettings } from '../../shared/config.ts'
import { createEventSink } from '../../shared/events/record-events.ts'
import { createDataLayer } from '../../shared/operations/data-layer.ts'
import { createStore } from '../../shared/store/client.ts'
import { IngestConfigSchema } from './config.ts'
import { createIngestFindingHandler, stampedReporter } from './handler.ts'

const StoreSettings = Type.Pick(IngestConfigSchema, ['TABLE_NAME', 'DYNAMODB_ENDPOINT', 'AWS_REGION', 'STORE_TIMEOUT_MS', 'STORE_MAX_ATTEMPTS', 'K_SINK', 'K_SINK_TOKEN_FILE'])
const config = loadSettings(StoreSettings, process.env)
const handle = createIngestFindingHandler(createDataLayer(createStore(config), { sink: createEventSink(config.K_SINK, { tokenFile: config.K_SINK_TOKEN_FILE }), log: console }))
functions.cloudEvent('ingestFinding', (async (event: CloudEvent<unknown>) => handle(event, stampedReporter(event))) as never)
