import type { DataLayer } from '../operations/data-layer.ts'
import type { CursorCodec } from './cursor.ts'

/** What a function's routes are given: the data layer its operations work on, the cursor codec, and how much store work an import does at once. */
export interface RouteDeps {
  data: DataLayer
  cursors: CursorCodec
  /** Results an import applies at once (IMPORT_RESULTS_IN_FLIGHT); shared/imports/concurrency.ts's default without it. */
  importResultsInFlight?: number
}
