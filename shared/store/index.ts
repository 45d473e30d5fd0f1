import type { Store } from './client.ts'
import { createFingerprintGuard } from './fingerprint-guard.ts'
import { createHistoryRepository } from './history-repository.ts'
import { createIdempotencyStore } from './idempotency-store.ts'
import { createOutbox } from './outbox.ts'
import { createRecordsRepository } from './records-repository.ts'

/** The data layer's modules over one store. */
export function createStoreModules (store: Store) {
  return {
    records: createRecordsRepository(store),
    fingerprints: createFingerprintGuard(store),
    idempotency: createIdempotencyStore(store),
    history: createHistoryRepository(store),
    outbox: createOutbox(store)
  }
}
