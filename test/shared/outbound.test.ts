import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, get as httpsGet } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { send } from '../../shared/outbound.ts'

/** A loopback server answering each request with `answer`. */
async function server (t: Test, answer: (request: IncomingMessage, response: ServerResponse) => void) {
  const listening = createServer(answer)
  listening.listen(0, '127.0.0.1')
  await once(listening, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { listening.closeAllConnections(); listening.close(() => resolve()) }))
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}/path?q=1`
}

t.test('a GET answers status, headers and the whole body; a POST sends its body with its length', async (t) => {
  const seen: Array<{ method?: string, url?: string, length?: string, body: string }> = []
  const url = await server(t, (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      seen.push({ method: request.method, url: request.url, length: request.headers['content-length'], body: Buffer.concat(chunks).toString() })
      response.writeHead(201, { 'x-answer': 'yes' }).end('héllo')
    })
  })
  const got = await send(url, { timeoutMs: 1000 })
  t.equal(got.status, 201)
  t.equal(got.headers['x-answer'], 'yes')
  t.equal(got.body.toString('utf8'), 'héllo')
  await send(url, { method: 'POST', body: 'ünïcode', headers: { 'content-type': 'text/plain' }, timeoutMs: 1000 })
  t.same(seen[1], { method: 'POST', url: '/path?q=1', length: String(Buffer.byteLength('ünïcode')), body: 'ünïcode' })
})

t.test('a redirect is answered as it is, never followed', async (t) => {
  let followed = 0
  const target = await server(t, (_request, response) => { followed++; response.end('elsewhere') })
  const url = await server(t, (_request, response) => response.writeHead(301, { location: target }).end())
  const got = await send(url, { timeoutMs: 1000 })
  t.equal(got.status, 301)
  t.equal(followed, 0)
})

t.test('no complete answer within timeoutMs fails with OUTBOUND_TIMEOUT: silent server, and one that stalls mid-body', async (t) => {
  const silent = await server(t, () => {})
  const started = Date.now()
  await t.rejects(send(silent, { timeoutMs: 150 }), { code: 'OUTBOUND_TIMEOUT' })
  t.ok(Date.now() - started < 1000)
  const stalling = await server(t, (_request, response) => { response.writeHead(200); response.write('{"keys":') })
  await t.rejects(send(stalling, { timeoutMs: 150 }), { code: 'OUTBOUND_TIMEOUT' })
})

t.test('a body over maxBytes fails with OUTBOUND_TOO_LARGE, whether announced by content-length or not', async (t) => {
  const announced = await server(t, (_request, response) => response.end('x'.repeat(2000)))
  await t.rejects(send(announced, { timeoutMs: 1000, maxBytes: 1000 }), { code: 'OUTBOUND_TOO_LARGE' })
  const streamed = await server(t, (_request, response) => {
    for (let i = 0; i < 20; i++) response.write('x'.repeat(100))
    response.end()
  })
  await t.rejects(send(streamed, { timeoutMs: 1000, maxBytes: 1000 }), { code: 'OUTBOUND_TOO_LARGE' })
  t.equal((await send(streamed, { timeoutMs: 1000, maxBytes: 2000 })).body.length, 2000, 'exactly the limit passes')
})

t.test('only http and https; a refused connection is an error, not a hang', async (t) => {
  await t.rejects(send('file:///etc/passwd', { timeoutMs: 1000 }), /not http or https/)
  const url = await server(t, () => {})
  const port = new URL(url).port
  await t.rejects(send(`http://127.0.0.1:${Number(port) === 1 ? 2 : 1}/`, { timeoutMs: 1000 }), { code: 'ECONNREFUSED' })
})

t.test('https verifies the certificate: a self-signed server is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'security-records-outbound-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const generated = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')])
  if (generated.error || generated.status !== 0) return t.fail(`openssl could not make a self-signed certificate: ${generated.stderr}`)
  const cert = readFileSync(join(dir, 'cert.pem'))
  const tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (_request, response) => response.end('{"keys":[]}'))
  tls.listen(0, '127.0.0.1')
  await once(tls, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { tls.closeAllConnections(); tls.close(() => resolve()) }))
  const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/jwks`
  await t.rejects(send(url, { timeoutMs: 2000 }), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
  const trusted = await new Promise<number | undefined>((resolve, reject) => httpsGet(url, { ca: cert }, (response) => { response.resume(); resolve(response.statusCode) }).on('error', reject))
  t.equal(trusted, 200, 'control: trusting its certificate, the same server answers')
})
