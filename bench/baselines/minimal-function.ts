/**
 * The floor under a function: node:http calling the very same records service (the data layer
 * with its history and outbox writes) for one fixed tenant — no Fastify, no token check, no
 * schema validation, no security headers, no serializer. Comparing a function with this prices
 * the framework; comparing this with a bare SDK call prices the extra process and HTTP hop.
 * Reads PORT, DYNAMODB_ENDPOINT, TABLE_NAME, BENCH_TENANT.
 */
import { createServer, type IncomingMessage } from 'node:http'
import { createEventSink } from '../../shared/events/record-events.ts'
import { createDataLayer } from '../../shared/operations/data-layer.ts'
import { createRecord } from '../../shared/operations/create-record.ts'
import { getRecord } from '../../shared/operations/get-record.ts'
import { listRecords } from '../../shared/operations/list-records.ts'
import { updateRecord } from '../../shared/operations/update-record.ts'
import type { RecordCreate, RecordPatch } from '../../shared/records/schema.ts'
import { createStore } from '../../shared/store/client.ts'

const env = process.env
const store = createStore({ DYNAMODB_ENDPOINT: env.DYNAMODB_ENDPOINT!, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 3000, STORE_MAX_ATTEMPTS: 3, TABLE_NAME: env.TABLE_NAME! }, {})
const service = createDataLayer(store, { sink: createEventSink(undefined), log: { warn: () => {} } })
const tenant = env.BENCH_TENANT!
let requests = 0
const context = () => ({ actor: { sub: 'client:bench', clientId: 'bench', tenant }, now: new Date(), requestId: `minimal-${++requests}` })

async function body (request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString())
}

createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost')
  const id = url.pathname.startsWith('/v1/records/') ? url.pathname.slice('/v1/records/'.length) : undefined
  const answer = async (): Promise<[number, unknown]> => {
    if (url.pathname === '/healthz') return [200, { status: 'ok' }]
    if (request.method === 'GET' && id) return [200, await getRecord(service, context(), id)]
    if (request.method === 'GET' && url.pathname === '/v1/records') {
      const status = url.searchParams.get('status')
      const page = await listRecords(service, context(), { order: 'desc', ...(status ? { status: status.split(',') as ['open'] } : {}) }, 25, undefined)
      return [200, { items: page.items, nextCursor: null }]
    }
    if (request.method === 'POST' && url.pathname === '/v1/records') return [201, (await createRecord(service, context(), await body(request) as RecordCreate)).record]
    if (request.method === 'PATCH' && id) return [200, await updateRecord(service, context(), id, await body(request) as RecordPatch, request.headers['if-match'])]
    return [404, { error: 'not found' }]
  }
  answer().then(([status, payload]) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload))
  }, (error: { statusCode?: number, message?: string }) => {
    response.writeHead(error.statusCode ?? 500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message }))
  })
}).listen(Number(env.PORT), '127.0.0.1')
process.once('SIGTERM', () => { store.client.destroy(); process.exit(0) })
