import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { generateSigningKey } from '../../../functions/mock-auth/signing-keys.ts'
import { startTestStore } from '../../support/store.ts'
import { basic, form, LOCAL_CLIENTS_FILE } from './harness.ts'

const entry = fileURLToPath(new URL('../../../functions/mock-auth/index.ts', import.meta.url))

function start (env: Record<string, string>) {
  const child = spawn(process.execPath, [entry], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => { stdout += chunk })
  child.stderr.on('data', (chunk) => { stderr += chunk })
  return { child, output: () => ({ stdout, stderr }) }
}

t.test('functions/mock-auth/index.ts reads its config, listens on PORT, serves tokens, and drains on SIGTERM', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const { child, output } = start({
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_ISSUER: 'http://127.0.0.1:8080',
    AUTH_CLIENTS_FILE: fileURLToPath(LOCAL_CLIENTS_FILE),
    AUTH_SIGNING_KEYS_JSON: JSON.stringify({ keys: [await generateSigningKey()] }),
    DYNAMODB_ENDPOINT: store.endpoint,
    TABLE_NAME: store.tableName
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  let origin: string | undefined
  for (let waited = 0; !origin && waited < 15_000; waited += 50) {
    origin = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output().stdout)?.[1]
    if (!origin) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(origin, `listening (stderr: ${output().stderr})`)

  const health = await fetch(`${origin}/healthz`)
  t.equal(health.status, 200)
  const token = await fetch(`${origin}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('local-reader', 'local-reader-secret') },
    body: form({ grant_type: 'client_credentials' })
  })
  t.equal(token.status, 200)
  const { access_token: accessToken } = await token.json() as { access_token: string }

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'exits cleanly after draining')
  const logs = output().stdout + output().stderr
  t.match(logs, /SIGTERM received, draining/)
  t.notMatch(logs, accessToken, 'the token is not logged')
  t.notMatch(logs, 'local-reader-secret')
})

t.test('a missing setting stops the function at start-up with the reason', async (t) => {
  const { child, output } = start({ AUTH_CLIENTS_FILE: fileURLToPath(LOCAL_CLIENTS_FILE) })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.match(output().stderr, /^mock-auth: invalid configuration: AUTH_ISSUER/)
})

t.test('a non-loopback issuer with the shipped local clients refuses to start, in one line naming them', async (t) => {
  const { child, output } = start({
    PORT: '0',
    AUTH_ISSUER: 'https://records.example.com',
    AUTH_CLIENTS_FILE: fileURLToPath(LOCAL_CLIENTS_FILE),
    AUTH_SIGNING_KEYS_JSON: JSON.stringify({ keys: [await generateSigningKey()] })
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  const { stdout, stderr } = output()
  t.equal(stdout, '', 'never listened')
  t.match(stderr, /^mock-auth: the issuer https:\/\/records\.example\.com is not a loopback address, and the registry holds the local clients local-admin, local-reader, local-other, local-console, whose secrets are published in the README; register your own clients instead\n$/)
})
