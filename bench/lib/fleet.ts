import { performance } from 'node:perf_hooks'
import { recordFunctionNames } from '../../functions/registry.ts'
import { recordFunctionEnv, type BenchIssuer, type BenchStore } from './environment.ts'
import { freePort, startChild, waitForOk, type Child } from './processes.ts'

/** The record functions of the registry, each started from its bundle. */
export const RECORD_FUNCTIONS = recordFunctionNames
export type RecordFunction = string

/** The record function bundles, each in its own process on its own port, as deployed (with its Service's settings). */
export interface Fleet {
  url (name: RecordFunction): string
  pid (name: RecordFunction): number
  stop (): Promise<void>
}

export async function startFleet (bundles: string, store: BenchStore, issuer: BenchIssuer): Promise<Fleet> {
  const children = new Map<RecordFunction, { child: Child, url: string }>()
  try {
    for (const name of RECORD_FUNCTIONS) {
      const port = await freePort()
      const child = startChild(`${bundles}/functions/${name}/index.mjs`, [], { ...recordFunctionEnv(name, store, issuer, port), RATE_LIMIT: 'off' })
      const url = `http://127.0.0.1:${port}`
      children.set(name, { child, url })
      await waitForOk(`${url}/healthz`, child, performance.now())
    }
  } catch (error) {
    for (const { child } of children.values()) await child.stop()
    throw error
  }
  return {
    url: (name) => children.get(name)!.url,
    pid: (name) => children.get(name)!.child.process.pid!,
    async stop () { for (const { child } of children.values()) await child.stop() }
  }
}
