/**
 * p50/p99 of GET and POST through the local gateway (token, routing, function, store), each
 * beside the bare store operation done directly with the SDK against the same store, in the
 * same process: `node scripts/measure-local-latency.ts [requests]`.
 */
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { startLocalStack } from '../local-dev/stack.ts'
import { createStore } from '../shared/store/client.ts'

const requests = Number(process.argv[2] ?? 1000)
const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
const store = createStore({ DYNAMODB_ENDPOINT: stack.storeEndpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 3000, STORE_MAX_ATTEMPTS: 3, TABLE_NAME: 'security-records' }, {})

const tokenResponse = await fetch(`${stack.url}/oauth2/token`, {
  method: 'POST',
  headers: { authorization: `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
  body: 'grant_type=client_credentials'
})
const { access_token: token } = await tokenResponse.json() as { access_token: string }
const auth = { authorization: `Bearer ${token}` }
const body = { title: 'latency probe', category: 'vulnerability', severity: 'medium', asset: { name: 'bench', type: 'service' } }

async function time (label: string, operation: () => Promise<void>) {
  for (let i = 0; i < 50; i++) await operation()
  const samples: number[] = []
  for (let i = 0; i < requests; i++) {
    const start = performance.now()
    await operation()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!
  return { label, p50: at(0.5), p99: at(0.99) }
}

const created = await (await fetch(`${stack.url}/v1/records`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as { id: string }
const item = { pk: `BENCH#${randomUUID()}`, sk: 'RECORD', ...body }

const results = [
  await time('GET /v1/records/{id} via gateway', async () => { const r = await fetch(`${stack.url}/v1/records/${created.id}`, { headers: auth }); await r.arrayBuffer(); if (r.status !== 200) throw new Error(String(r.status)) }),
  await time('SDK GetItem (consistent)', async () => { await store.documents.send(new GetCommand({ TableName: store.tableName, Key: { pk: item.pk, sk: 'RECORD' }, ConsistentRead: true })) }),
  await time('POST /v1/records via gateway', async () => { const r = await fetch(`${stack.url}/v1/records`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) }); await r.arrayBuffer(); if (r.status !== 201) throw new Error(String(r.status)) }),
  await time('SDK PutItem', async () => { await store.documents.send(new PutCommand({ TableName: store.tableName, Item: { ...item, pk: `BENCH#${randomUUID()}` } })) })
]
for (const { label, p50, p99 } of results) console.log(`${label.padEnd(36)} p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms`)
console.log(`GET ratio (gateway / SDK) p50: ${(results[0]!.p50 / results[1]!.p50).toFixed(2)}×`)
console.log(`POST ratio (gateway / SDK) p50: ${(results[2]!.p50 / results[3]!.p50).toFixed(2)}×`)
store.client.destroy()
await stack.close()
