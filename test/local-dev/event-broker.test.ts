import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createDeliveryVerifier } from '../../shared/auth/delivery-auth.ts'
import { remoteKeySet } from '../../shared/auth/key-set.ts'
import { startLocalBroker } from '../../local-dev/event-broker.ts'

async function subscriber (t: Test, status: () => number) {
  const received: Array<{ authorization?: string, type?: string, body: string }> = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      received.push({ authorization: request.headers.authorization, type: request.headers['ce-type'] as string, body: Buffer.concat(chunks).toString() })
      response.writeHead(status()).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, received }
}

const event = { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': 'r/1', 'ce-type': 'com.mediamarktsaturn.security.record.created', 'ce-source': '/tenants/local/records', 'content-type': 'application/json' }, body: '{"id":"r"}' }

t.test('the local broker delivers each event to every subscriber, with a token its sender check accepts, and answers 502 when one refused', async (t) => {
  const broker = await startLocalBroker()
  t.teardown(() => broker.close())
  let metricsStatus = 200
  const metrics = await subscriber(t, () => metricsStatus)
  const sink = await subscriber(t, () => 202)
  broker.subscribe({ url: metrics.url, identity: { subject: 'system:serviceaccount:security-records:record-metrics-oidc-eventing.knative.dev-trigger', audience: 'record-metrics' } })
  broker.subscribe({ url: sink.url })

  t.equal((await fetch(broker.url, event)).status, 202)
  t.equal(metrics.received[0]!.body, '{"id":"r"}')
  t.equal(metrics.received[0]!.type, 'com.mediamarktsaturn.security.record.created')
  t.equal(sink.received[0]!.authorization, undefined, 'a subscriber without an identity gets no token')
  const verify = createDeliveryVerifier({ issuer: broker.issuer, audience: 'record-metrics', subjects: ['system:serviceaccount:security-records:record-metrics-oidc-eventing.knative.dev-trigger'], keys: remoteKeySet(broker.jwksUrl, { timeoutMs: 2000, cooldownMs: 0, cacheMaxAgeMs: 60_000 }), clockToleranceSeconds: 5 })
  await t.resolves(verify(metrics.received[0]!.authorization), 'the delivery token passes the function\'s sender check')

  metricsStatus = 503
  t.equal((await fetch(broker.url, event)).status, 502, 'a refused delivery is refused to the producer, which keeps the event in its outbox')
  t.equal((await fetch(`${broker.url}other`, event)).status, 404)
})

t.test('the local broker delivers an event only to the subscribers whose Trigger filter takes its type', async (t) => {
  const broker = await startLocalBroker()
  t.teardown(() => broker.close())
  const records = await subscriber(t, () => 200)
  const findings = await subscriber(t, () => 200)
  broker.subscribe({ url: records.url, types: ['com.mediamarktsaturn.security.record.created'] })
  broker.subscribe({ url: findings.url, types: ['com.mediamarktsaturn.security.finding.reported'] })
  t.equal((await fetch(broker.url, event)).status, 202)
  const reported = { ...event, headers: { ...event.headers, 'ce-id': 'f/1', 'ce-type': 'com.mediamarktsaturn.security.finding.reported' } }
  t.equal((await fetch(broker.url, reported)).status, 202)
  t.same(records.received.map(({ type }) => type), ['com.mediamarktsaturn.security.record.created'])
  t.same(findings.received.map(({ type }) => type), ['com.mediamarktsaturn.security.finding.reported'])
  t.equal((await fetch(broker.url, { ...event, headers: { ...event.headers, 'ce-type': 'com.example.other' } })).status, 202, 'an event no Trigger takes is taken, as a broker does')
})
