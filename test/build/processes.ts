import type { ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'

/** A port nothing listens on right now, for a server started as a child process. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Collects a child's stdout and stderr, to explain a failure. */
export function captureOutput (child: ChildProcess): () => string {
  let output = ''
  child.stdout?.on('data', (chunk) => { output += chunk })
  child.stderr?.on('data', (chunk) => { output += chunk })
  return () => output
}

/** Polls the URL until it answers 200; returns how long that took. Fails if the child exits first. */
export async function waitUntilHealthy (url: string, child: ChildProcess, output: () => string, timeoutMs = 20_000): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}: ${output()}`)
    const healthy = await fetch(url).then((response) => response.status === 200, () => false)
    if (healthy) return performance.now() - started
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${url} did not become healthy within ${timeoutMs} ms: ${output()}`)
}
