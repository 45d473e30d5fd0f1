import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'

/** A child process the harness started, with its output kept for error messages. */
export interface Child {
  process: ChildProcess
  output (): string
  /** SIGTERM, then SIGKILL after a grace period; resolves once it exited. */
  stop (): Promise<void>
}

/** Children still running: killed when the harness exits, however it exits. */
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

export function startChild (file: string, args: string[], env: Record<string, string | undefined>, { stdin = false } = {}): Child {
  const child = spawn(process.execPath, [file, ...args], { env, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  running.add(child)
  child.once('exit', () => running.delete(child))
  let output = ''
  const keep = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-8000) }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  return {
    process: child,
    output: () => output,
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Reads the first line a child prints as JSON (how the store and stack children announce themselves). */
export async function firstJsonLine<T> (child: Child, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error(`child did not announce itself within ${timeoutMs} ms: ${child.output()}`)), timeoutMs)
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString()
      const newline = buffer.indexOf('\n')
      if (newline < 0) return
      clearTimeout(timer)
      child.process.stdout!.off('data', onData)
      try {
        resolve(JSON.parse(buffer.slice(0, newline)) as T)
      } catch (error) {
        reject(new Error(`child announced something that is not JSON: ${buffer.slice(0, newline)} (${(error as Error).message})`))
      }
    }
    child.process.stdout!.on('data', onData)
    child.process.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited with ${code}: ${child.output()}`)) })
  })
}

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** One GET on a fresh connection; resolves with the status, or rejects when nothing listens yet. */
function probe (url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 2000 }, (response) => {
      response.resume()
      response.once('end', () => resolve(response.statusCode ?? 0))
    })
    req.once('timeout', () => req.destroy(new Error('timeout')))
    req.once('error', reject)
    req.end()
  })
}

/**
 * Polls `url` until it answers 200, every `intervalMs`; returns ms since `since`. A tight
 * interval keeps the polling error well below the cold starts measured.
 */
export async function waitForOk (url: string, child: Child, since: number, { timeoutMs = 20_000, intervalMs = 2 } = {}): Promise<number> {
  const deadline = since + timeoutMs
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${url}: process exited with ${child.process.exitCode}: ${child.output()}`)
    try {
      if (await probe(url) === 200) return performance.now() - since
    } catch {}
    if (performance.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms: ${child.output()}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Peak resident set size of a live process (VmHWM), in MB (10^6 bytes, as the targets are set). */
export function peakRssMB (pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!match) throw new Error(`no VmHWM for pid ${pid}`)
  return Number(match[1]) * 1024 / 1e6
}
