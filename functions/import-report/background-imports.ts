import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { DataLayer } from '../../shared/operations/data-layer.ts'
import { processImport } from '../../shared/imports/process-import.ts'

/**
 * Imports this instance processes after answering: each under its own lease. On drain (SIGTERM,
 * Knative scaling to zero) they stop at the next checkpoint and give their lease up; the
 * sweeper takes them up from there, as it does the imports of an instance that died.
 */
export function createBackgroundImports (data: DataLayer, log: Pick<FastifyBaseLogger, 'warn'>) {
  const draining = new AbortController()
  const running = new Set<Promise<unknown>>()
  const imports = {
    start (tenant: string, id: string): void {
      if (draining.signal.aborted) return
      // The import after this one in its scope is taken up here as soon as this one finished.
      const onTurn = (next: string) => imports.start(tenant, next)
      const task: Promise<unknown> = processImport(data, tenant, id, { owner: `import-report:${randomUUID()}`, signal: draining.signal, onTurn })
        .catch((error: unknown) => log.warn({ err: error, importId: id }, 'import interrupted; the sweeper resumes it'))
        .finally(() => running.delete(task))
      running.add(task)
    },
    async stop (): Promise<void> {
      draining.abort()
      await Promise.allSettled(running)
    }
  }
  return imports
}
