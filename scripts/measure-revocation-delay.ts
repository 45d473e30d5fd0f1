/**
 * How long a revoked token still passes: revoke a token that was just used (so the function's
 * "not revoked" answer is cached), then poll until the API refuses it.
 * `node scripts/measure-revocation-delay.ts [rounds]`
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { startLocalStack } from '../local-dev/stack.ts'

const rounds = Number(process.argv[2] ?? 5)
const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
const basic = `Basic ${Buffer.from('local-admin:local-admin-secret').toString('base64')}`
const form = { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }
const delays: number[] = []
for (let round = 0; round < rounds; round++) {
  const { access_token: token } = await (await fetch(`${stack.url}/oauth2/token`, { method: 'POST', headers: form, body: 'grant_type=client_credentials' })).json() as { access_token: string }
  const call = () => fetch(`${stack.url}/v1/records`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => { await r.arrayBuffer(); return r.status })
  if (await call() !== 200) throw new Error('token not accepted')
  await sleep(Math.random() * 1000)
  const revokedAt = performance.now()
  const revoke = await fetch(`${stack.url}/oauth2/revoke`, { method: 'POST', headers: form, body: `token=${token}` })
  if (revoke.status !== 200) throw new Error(`revoke: ${revoke.status}`)
  while (await call() === 200) await sleep(25)
  delays.push(performance.now() - revokedAt)
}
delays.sort((a, b) => a - b)
console.log(`revoked token refused after: ${delays.map((d) => `${(d / 1000).toFixed(2)} s`).join(', ')} (max ${(delays.at(-1)! / 1000).toFixed(2)} s; REVOCATION_CACHE_MS default 5000)`)
await stack.close()
