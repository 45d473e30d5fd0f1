/**
 * The local stack's embedded store: dynalite in a child process of its own, on a loopback port.
 *
 * dynalite does every DynamoDB call's work (request parsing, validation, LevelDB writes) in
 * JavaScript. In the stack's own process that work competes with the gateway and every function
 * for one event loop, so a tenant's big import (thousands of store writes) delays every other
 * tenant's requests far more than in the cluster, where the store is a service of its own. A
 * child process gives the store its own event loop, as the cluster does.
 *
 * The child lives exactly as long as the stack: it stops when asked, and on its own when the
 * stack's process goes away without asking (the IPC channel closes). It ignores SIGINT and
 * SIGTERM, which a terminal sends to the whole process group: the stack drains first and still
 * needs its store while it does.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export interface EmbeddedStore {
  endpoint: string
  /** Stops the store; resolves once its process has exited (its files are closed). */
  close (): Promise<void>
}

/** What the child tells the stack once it listens, or why it could not. */
type StoreMessage = { listening: number } | { failed: string }

export interface EmbeddedStoreOptions {
  /** dynalite's LevelDB directory; none keeps everything in memory. */
  path?: string
  /** Told when the store's process ends without being asked to (the stack's store calls fail from then on). */
  onUnexpectedExit? (code: number | null, signal: NodeJS.Signals | null): void
}

export async function startEmbeddedStore (options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const child = fork(fileURLToPath(import.meta.url), options.path === undefined ? [] : [options.path], {
    // A debugger or profiler flag given to the stack would make the child fight for its port or files.
    execArgv: process.execArgv.filter((flag) => !/^--(inspect|cpu-prof|heap-prof)/.test(flag)),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  let closing = false
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: StoreMessage) => 'listening' in message ? resolve(message.listening) : reject(new Error(`the embedded store could not start: ${message.failed}`)))
      child.once('error', reject)
      child.once('exit', (code, signal) => reject(new Error(`the embedded store exited while starting (${signal ?? `code ${code}`})`)))
    })
    void exited.then(([code, signal]) => { if (!closing) options.onUnexpectedExit?.(code, signal) })
    return {
      endpoint: `http://127.0.0.1:${port}`,
      close: async () => {
        closing = true
        await stop(child, exited)
      }
    }
  } catch (error) {
    closing = true
    await stop(child, exited)
    throw error
  }
}

/** Asks the child to close its server and files; it exits on its own once they are. */
async function stop (child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  if (child.connected) child.disconnect()
  else child.kill('SIGKILL')
  await exited
}

/** The child: dynalite on a loopback port, until the stack disconnects. */
async function serve (path: string | undefined): Promise<void> {
  const { default: dynalite } = await import('dynalite')
  const server = dynalite(path === undefined ? { createTableMs: 0 } : { path, createTableMs: 0 })
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => {})
  // The stack asked (disconnect) or went away: close the server (and with it LevelDB), then exit.
  // Every function is closed by then: connections still open are the stack's idle keep-alive ones.
  process.once('disconnect', () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  })
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()))
    process.send!({ listening: (server.address() as AddressInfo).port } satisfies StoreMessage)
  } catch (error) {
    process.send!({ failed: (error as Error).message } satisfies StoreMessage, () => process.exit(1))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) await serve(process.argv[2])
