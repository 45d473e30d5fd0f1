import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createEventSink, recordChangeEvent, SINK_BINDING_TOKEN_FILE } from '../../../shared/events/record-events.ts'

/** A sink that answers 202 and keeps the headers of every post; 401 for a post without a token when `requireToken`. */
async function sink (t: Test, { requireToken = false } = {}) {
  const received: IncomingHttpHeaders[] = []
  const server = createServer((request, response) => {
    received.push(request.headers)
    request.resume()
    response.statusCode = requireToken && !request.headers.authorization ? 401 : 202
    response.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/security-records/security-records`, received }
}

const event = recordChangeEvent('acme', '0190b4a8-7e1c-7cc3-8a5e-2d3b4c5d6e7f', { action: 'created', version: 1, at: '2026-01-01T00:00:00.000Z' } as never, { id: 'x' })

t.test('with Knative sender identity on, each delivery carries the SinkBinding\'s current token (the broker refuses one without)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'security-records-oidc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, 'eyJ.first.token\n')
  const { url, received } = await sink(t, { requireToken: true })
  const events = createEventSink(url, { tokenFile })
  await events.deliver(event)
  writeFileSync(tokenFile, 'eyJ.renewed.token')
  await events.deliver(event)
  t.same(received.map((headers) => headers.authorization), ['Bearer eyJ.first.token', 'Bearer eyJ.renewed.token'], 'read again on every delivery: Knative renews it')
  t.equal(received[0]?.['ce-tenant'], 'acme', 'still binary mode')
})

t.test('without a projected token (feature off, local stack) events go without an Authorization header', async (t) => {
  const { url, received } = await sink(t)
  await createEventSink(url, { tokenFile: join(tmpdir(), 'security-records-no-such-token') }).deliver(event)
  t.equal(received.length, 1)
  t.notOk(received[0]?.authorization)
  t.equal(SINK_BINDING_TOKEN_FILE, '/oidc/token', 'where knative.dev/eventing v0.45.0 mounts the binding\'s token Secret (sinkbinding_lifecycle.go: MountPath "/oidc", key "token")')
})

t.test('cloudevents is loaded at the first delivery, not when a function starts (~35 ms a start saves)', async (t) => {
  const { url, received } = await sink(t)
  const probe = `
    import { createRequire } from 'node:module'
    const { createEventSink, recordChangeEvent } = await import(${JSON.stringify(new URL('../../../shared/events/record-events.ts', import.meta.url).href)})
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('/node_modules/cloudevents/'))
    const events = createEventSink(process.argv[1], { tokenFile: '/nonexistent' })
    const event = recordChangeEvent('acme', 'r-1', { action: 'created', version: 1, at: '2026-01-01T00:00:00.000Z' }, { id: 'r-1' })
    const before = loaded()
    await events.deliver(event)
    console.log(JSON.stringify({ before, after: loaded() }))`
  const child = spawn(process.execPath, ['--input-type=module', '-e', probe, url], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk })
  await once(child, 'close')
  t.same(JSON.parse(output), { before: false, after: true })
  t.equal(received[0]?.['ce-id'], 'r-1/1', 'and the delivery is the same binary-mode event')
})
