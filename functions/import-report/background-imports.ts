import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { DataLayer } from '../../shared/operations/data-layer.ts'
import { processImport } from '../../shared/imports/process-import.ts'
import { createImportSlots } from './import-slots.ts'

/** Imports an instance applies at once, and of them at most this many of one tenant; the rest wait their turn. */
export const BACKGROUND_LIMITS = { perInstance: 2, perTenant: 1 } as const

/**
 * Imports this instance processes after answering: each under its own lease, a few at once (the
 * others wait in order, the first whose tenant has a free slot next). On drain (SIGTERM, Knative
 * scaling to zero) the running ones stop at the next checkpoint and give their lease up, and the
 * waiting ones are left: they are queued in the store, and the sweeper takes them all up from
 * there, as it does the imports of an instance that died.
 */
export function createBackgroundImports (data: DataLayer, log: Pick<FastifyBaseLogger, 'warn'>, resultsInFlight?: number) {
  const draining = new AbortController()
  const running = new Set<Promise<unknown>>()
  const slots = createImportSlots(BACKGROUND_LIMITS)
  const waiting: Array<{ tenant: string, id: string }> = []

  const startNext = () => {
    for (let i = 0; i < waiting.length && !draining.signal.aborted; i++) {
      const { tenant, id } = waiting[i]!
      const slot = slots.take(tenant)
      if ('full' in slot) {
        if (slot.full === 'instance') return
        continue
      }
      waiting.splice(i--, 1)
      // The import after this one in its scope is taken up here as soon as this one finished.
      const onTurn = (next: string) => imports.start(tenant, next)
      const task: Promise<unknown> = processImport(data, tenant, id, { owner: `import-report:${randomUUID()}`, signal: draining.signal, resultsInFlight, onTurn })
        .catch((error: unknown) => log.warn({ err: error, importId: id }, 'import interrupted; the sweeper resumes it'))
        .finally(() => {
          running.delete(task)
          slot.release()
          startNext()
        })
      running.add(task)
    }
  }

  const imports = {
    start (tenant: string, id: string): void {
      waiting.push({ tenant, id })
      startNext()
    },
    /** Imports received and not yet started here. */
    get waiting (): number {
      return waiting.length
    },
    async stop (): Promise<void> {
      draining.abort()
      waiting.length = 0
      await Promise.allSettled(running)
    }
  }
  return imports
}
