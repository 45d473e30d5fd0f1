import type { DataLayer } from '../operations/data-layer.ts'
import type { CursorCodec } from './cursor.ts'

/** What a function's routes are given: the data layer its operations work on, and the cursor codec. */
export interface RouteDeps {
  data: DataLayer
  cursors: CursorCodec
}
