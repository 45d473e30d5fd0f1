import type { FastifyBaseLogger } from 'fastify'
import type { EventSink } from '../events/record-events.ts'
import type { Store } from '../store/client.ts'
import { createFingerprintGuard, type FingerprintGuard } from '../store/fingerprint-guard.ts'
import { createHistoryRepository, type HistoryRepository } from '../store/history-repository.ts'
import { createIdempotencyKeys, type IdempotencyKeys } from '../store/idempotency-keys.ts'
import { createMetricsRepository, type MetricsRepository } from '../store/metrics-repository.ts'
import { createImportsRepository, type ImportsRepository } from '../store/imports-repository.ts'
import { createOutbox, type Outbox } from '../store/outbox.ts'
import { createRecordsRepository, type RecordsRepository } from '../store/records-repository.ts'
import { createChangePublisher, type ChangePublisher } from './change-publisher.ts'

/** What every record operation works with: the repositories over one store, and what follows a commit. */
export interface DataLayer {
  records: RecordsRepository
  fingerprints: FingerprintGuard
  idempotencyKeys: IdempotencyKeys
  history: HistoryRepository
  outbox: Outbox
  publisher: ChangePublisher
  /** Scanner report imports (import-report, and the sweeper resuming them). */
  imports: ImportsRepository
  /** A tenant's metrics counters (record-metrics counts record events into them, GET /v1/metrics reads them). */
  metrics: MetricsRepository
}

export interface DataLayerOptions {
  /** Where CloudEvents of committed changes go (K_SINK). */
  sink: EventSink
  log: Pick<FastifyBaseLogger, 'warn'>
}

/** Created once per process, beside the store client it wraps. */
export function createDataLayer (store: Store, options: DataLayerOptions): DataLayer {
  const records = createRecordsRepository(store)
  const history = createHistoryRepository(store)
  return {
    records,
    fingerprints: createFingerprintGuard(store),
    idempotencyKeys: createIdempotencyKeys(store),
    history,
    outbox: createOutbox(store),
    publisher: createChangePublisher({ records, history, sink: options.sink, log: options.log, tableName: store.tableName }),
    imports: createImportsRepository(store),
    metrics: createMetricsRepository(store)
  }
}
