import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { startLocalStack } from '../../../local-dev/stack.ts'
import { SIGNING_KEYS_FILE_NAME } from '../../../functions/mock-auth/signing-keys.ts'
import { startTestStore } from '../../support/store.ts'
import { createTestKeys } from '../../support/tokens.ts'
import { ANSWER_TIME_LIMIT_MS, type HostileAnswer, type HostileRequest, type HostileTarget } from './hostile-requests.ts'

/**
 * The local stack (`npm start` in-process: gateway, mock-auth, every function) as the hostile
 * requests' target, over real sockets and kept-alive connections like any HTTP client's. Its
 * mock-auth signs with the test's key (written into its data directory), so the suite can make
 * tokens of every flavour; its store is a test store the suite can snapshot.
 */
export async function startGatewayTarget (t: Test): Promise<HostileTarget & { port: number }> {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const keys = await createTestKeys()
  const dataDir = await mkdtemp(join(tmpdir(), 'security-records-hostile-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  await writeFile(join(dataDir, SIGNING_KEYS_FILE_NAME), JSON.stringify({ keys: [keys.privateJwk] }), { mode: 0o600 })

  const stack = await startLocalStack({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    dynamodbEndpoint: store.endpoint,
    tableName: store.tableName,
    logLevel: 'silent',
    sweepIntervalMs: 0,
    // As the inject() suite: thousands of requests from one client are not what is tested here.
    env: { ...process.env, RATE_LIMIT: 'off' }
  })
  t.teardown(() => stack.close())
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => agent.destroy())
  const port = Number(new URL(stack.url).port)
  const sign = (claims: Partial<Record<string, unknown>>, header: Record<string, unknown>) => keys.sign({ iss: stack.url, ...claims }, header)
  return {
    send: (request) => send(agent, port, request),
    bearer: async (claims = {}) => `Bearer ${await sign(claims, {})}`,
    sign,
    kid: String(keys.privateJwk.kid),
    store,
    port
  }
}

/** One request exactly as drafted (path and query unnormalised); a hang is an error after twice the answer time allowed. */
function send (agent: Agent, port: number, request: HostileRequest): Promise<HostileAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: request.method, path: request.url, headers: request.headers, agent }, (response: IncomingMessage) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
        resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') })
      }).on('error', reject)
    })
    outgoing.setTimeout(ANSWER_TIME_LIMIT_MS * 2, () => outgoing.destroy(new Error(`no answer within ${ANSWER_TIME_LIMIT_MS * 2} ms`)))
    outgoing.on('error', reject)
    outgoing.end(request.payload)
  })
}
