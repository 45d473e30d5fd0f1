import { spawn } from 'node:child_process'
import t from 'tap'
import { smokeTest } from '../../scripts/smoke-test.ts'
import { captureOutput, freePort, waitUntilHealthy } from '../build/processes.ts'

const root = new URL('../../', import.meta.url).pathname

t.test('the deploy smoke test passes against the local stack, which routes like the cluster ingress', async (t) => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const stack = spawn(process.execPath, ['local-dev/start.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: ':memory:', DYNAMODB_ENDPOINT: '', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output = captureOutput(stack)
  t.teardown(() => { if (stack.exitCode === null) stack.kill('SIGKILL') })
  await waitUntilHealthy(`${base}/healthz`, stack, output)

  const steps: string[] = []
  await t.resolves(smokeTest(base, 'local-admin', 'local-admin-secret', (line) => steps.push(line.replace(/ \(\d+ ms\)$/, '').replace(/[0-9a-f-]{36}/, '{id}'))))
  t.same(steps, [
    'GET /.well-known/oauth-authorization-server -> 200',
    'GET /v1/records -> 401',
    'POST /oauth2/token -> 200',
    'POST /v1/records -> 201',
    'GET /v1/records/{id} -> 200',
    'DELETE /v1/records/{id} -> 204',
    'GET /v1/records/{id} -> 404'
  ])

  await t.rejects(smokeTest(base, 'local-admin', 'wrong-secret', () => {}), /POST \/oauth2\/token: expected 200, got 401/, 'a wrong client secret fails the smoke test')

  const exited = new Promise((resolve) => stack.once('exit', resolve))
  stack.kill('SIGTERM')
  await exited
})
