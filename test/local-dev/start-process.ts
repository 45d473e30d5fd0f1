import { spawn, type ChildProcess } from 'node:child_process'
import type { Test } from 'tap'

export interface StartedStack {
  child: ChildProcess
  url: string
  /** Everything it wrote so far, stdout and stderr. */
  output (): string
  /** Resolves with the exit code once it exited. */
  exited: Promise<number | null>
}

const ROOT = new URL('../..', import.meta.url).pathname
/** Starting every function takes a few seconds; on a loaded machine many more. */
const START_WITHIN_MS = 60_000

/** `npm start` as a user runs it (node local-dev/start.ts), with these settings; killed at teardown if still running. */
export function spawnStack (t: Test, env: Record<string, string>): { child: ChildProcess, output (): string, exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['local-dev/start.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { child, output: () => output, exited }
}

/** Spawns the stack and waits until it says where it listens. */
export async function startStack (t: Test, env: Record<string, string>): Promise<StartedStack> {
  const started = spawnStack(t, env)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up within ${START_WITHIN_MS} ms: ${started.output()}`)), START_WITHIN_MS)
    const look = () => {
      const match = /listening on (http:\/\/\S+)/.exec(started.output())
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    started.child.stdout!.on('data', look)
    started.exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`npm start exited (${code}) before listening: ${started.output()}`))
    }, reject)
  })
  return { ...started, url }
}

/** A client_credentials token of a local client. */
export async function localToken (url: string, client = 'local-admin'): Promise<string> {
  const response = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  if (!response.ok) throw new Error(`token: ${response.status} ${await response.text()}`)
  return (await response.json() as { access_token: string }).access_token
}
