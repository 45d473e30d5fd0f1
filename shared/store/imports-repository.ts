import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { ImportCounts, ImportError, ImportStatus, ReportImport, RunScope } from '../records/report-import.ts'
import { batchDelete } from './batch.ts'
import type { Store } from './client.ts'
import { expressions } from './expressions.ts'
import { importKey, importPartKey, importScopeLineKey, indexes, outboxAttributes, ttlAttribute, type ImportPartKind } from './keys.ts'
import { isConditionFailed, storeCall } from './store-errors.ts'

/** A scope as an import stores it: the asset is the import's own, stored once beside its scopes. */
export type { RunScope }

/** An import as stored: what the API shows, and the bookkeeping of whoever processes it. */
export interface ImportState extends Omit<ReportImport, 'scope' | 'scopes'> {
  /** The report format's name (imports stored before there were several are SARIF). */
  format?: string
  /** Every scope of the report, in the order of its runs (with `asset`, what the API shows). */
  scopes: RunScope[]
  tenant: string
  actor: { sub: string, clientId: string, name?: string }
  /** Report chunks (`CHUNK#…` parts), processed in order. */
  chunkCount: number
  /** Parts holding the run contexts (`RUNS#…`). */
  runParts: number
  /** Chunks fully applied: the checkpoint a resumed import starts from. */
  processedChunks: number
  leaseOwner?: string
  leaseUntil?: string
  /** Times a processor took the import up. */
  attempts?: number
  /**
   * Who held the import before this processor when they stopped without a word: neither
   * finished nor gave it up (their process died, or their store calls and then their release
   * failed). Set by `acquire`; absent when the import is fresh or was given up.
   */
  abandonedBy?: string
  /** The checkpoint (`processedChunks`) at which an attempt was last abandoned. */
  abandonedAt?: number
}

export interface ImportProgress {
  processedChunks: number
  counts: ImportCounts
  errors: ImportError[]
}

/**
 * Report imports: one state item per import and its parts (compressed report chunks and run
 * contexts, each well under the store's 400 KB item limit) in the import's own partition. Whoever
 * processes an import holds a lease on it; an unfinished import sits in the outbox index with the
 * time of its last checkpoint, so the sweeper finds the ones nobody advances any more.
 */
export interface ImportsRepository {
  /** Writes one part; parts are written before the import item exists. */
  putPart (tenant: string, id: string, kind: ImportPartKind, index: number, data: Uint8Array, now: Date): Promise<void>
  getPart (tenant: string, id: string, kind: ImportPartKind, index: number): Promise<Uint8Array | undefined>
  /** Deletes parts `0 … count - 1` of a kind (a report refused after some of it was stored). */
  deleteParts (tenant: string, id: string, kind: ImportPartKind, count: number): Promise<void>
  /** Records a fully received report as queued. */
  create (tenant: string, state: ImportState): Promise<void>
  get (tenant: string, id: string): Promise<ImportState | undefined>
  /** Takes the lease of an unfinished import when nobody holds it (or the holder's ran out); undefined otherwise. */
  acquire (tenant: string, id: string, owner: string, now: Date, leaseMs: number): Promise<ImportState | undefined>
  /** Saves progress and renews the lease; false when the lease was lost to another processor. */
  checkpoint (tenant: string, id: string, owner: string, progress: ImportProgress, now: Date, leaseMs: number): Promise<boolean>
  /** Ends the import (succeeded or failed) and takes it out of the outbox. */
  finish (tenant: string, id: string, owner: string, status: Extract<ImportStatus, 'succeeded' | 'failed'>, progress: Omit<ImportProgress, 'processedChunks'>, now: Date): Promise<boolean>
  /** Gives the lease up (a draining process), so the sweeper may resume the import at once. */
  release (tenant: string, id: string, owner: string, now: Date): Promise<void>
  /** Gives the lease up uncounted, queued again (anyone may take it at once): the import waits for its turn in its scopes. */
  wait (tenant: string, id: string, owner: string): Promise<void>
  /** A scope's line: its unfinished imports as `<place>|<import id>`, in the order they joined it. */
  line (tenant: string, scopeKey: string): Promise<string[]>
  /** Puts an import at the end of a scope's line; returns the line. */
  joinLine (tenant: string, scopeKey: string, id: string): Promise<string[]>
  /** Takes places out of a scope's line; returns what is left of it. */
  leaveLine (tenant: string, scopeKey: string, places: string[]): Promise<string[]>
  /** Notes that an attempt was abandoned at this checkpoint; false when the lease was lost. */
  noteAbandoned (tenant: string, id: string, owner: string, processedChunks: number): Promise<boolean>
}

/** Parts are only needed until their import is done; DynamoDB's TTL removes them after a week. */
const PART_TTL_SECONDS = 7 * 24 * 60 * 60

const internal = new Set(['pk', 'sk', indexes.outbox.pk, indexes.outbox.sk, 'holder'])

export function createImportsRepository (store: Store): ImportsRepository {
  const { documents, tableName } = store
  const outbox = (tenant: string, id: string, now: Date) => outboxAttributes(tenant, `import/${id}`, now.toISOString())
  /** The outbox index's attributes: an unfinished import sits in it with the time of its last checkpoint. */
  const outboxNames = { outboxPk: indexes.outbox.pk, outboxSk: indexes.outbox.sk }
  const heartbeatValues = (tenant: string, id: string, now: Date, leaseMs: number) => {
    const heartbeat = outbox(tenant, id, now)
    return { until: new Date(now.getTime() + leaseMs).toISOString(), outboxPk: heartbeat[indexes.outbox.pk], outboxSk: heartbeat[indexes.outbox.sk] }
  }

  async function update (input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>): Promise<Record<string, unknown> | undefined> {
    try {
      const { Attributes } = await storeCall(() => documents.send(new UpdateCommand({ TableName: tableName, ...input })))
      return Attributes ?? {}
    } catch (error) {
      if (isConditionFailed(error)) return undefined
      throw error
    }
  }

  async function readLine (tenant: string, scopeKey: string): Promise<string[]> {
    const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: importScopeLineKey(tenant, scopeKey), ConsistentRead: true })))
    return placesOf(Item)
  }

  /** An update of a running import by its lease holder; false when the lease was lost. */
  async function updateWhileHeld (tenant: string, id: string, owner: string, updateExpression: string, values: Record<string, unknown>): Promise<boolean> {
    return (await update({
      Key: importKey(tenant, id),
      ...expressions({
        UpdateExpression: updateExpression,
        // Only the lease holder: a processor that lost its lease records no progress, and an import ends only once.
        ConditionExpression: 'leaseOwner = :owner AND #status = :running'
      }, { ...values, owner, running: 'running' }, outboxNames)
    })) !== undefined
  }

  return {
    async putPart (tenant, id, kind, index, data, now) {
      await storeCall(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: { ...importPartKey(tenant, id, kind, index), tenant, data, [ttlAttribute]: Math.floor(now.getTime() / 1000) + PART_TTL_SECONDS }
      })))
    },

    async getPart (tenant, id, kind, index) {
      const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: importPartKey(tenant, id, kind, index), ConsistentRead: true })))
      return Item?.data as Uint8Array | undefined
    },

    async deleteParts (tenant, id, kind, count) {
      await batchDelete(store, Array.from({ length: count }, (_, index) => importPartKey(tenant, id, kind, index)))
    },

    async create (tenant, state) {
      await storeCall(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: { ...state, ...importKey(tenant, state.id), ...outbox(tenant, state.id, new Date(state.createdAt)), tenant },
        // Import ids are fresh UUIDv7s: never replace an import that exists.
        ConditionExpression: 'attribute_not_exists(pk)'
      })))
    },

    async get (tenant, id) {
      const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: importKey(tenant, id), ConsistentRead: true })))
      return Item ? toState(Item) : undefined
    },

    async acquire (tenant, id, owner, now, leaseMs) {
      const item = await update({
        Key: importKey(tenant, id),
        ...expressions({
          // `holder` is the attempt marker: set before anything is applied, removed when the holder
          // finishes or gives the import up; found still set, the holder before stopped without a word.
          UpdateExpression: 'SET #status = :running, leaseOwner = :owner, leaseUntil = :until, #outboxPk = :outboxPk, #outboxSk = :outboxSk, abandonedBy = if_not_exists(holder, :none), holder = :owner ADD attempts :one',
          // Only an unfinished import, and only when no other processor's lease is still running.
          ConditionExpression: '#status IN (:queued, :running) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)'
        }, { running: 'running', queued: 'queued', owner, now: now.toISOString(), one: 1, none: '', ...heartbeatValues(tenant, id, now, leaseMs) }, outboxNames),
        ReturnValues: 'ALL_NEW'
      })
      if (!item) return undefined
      const state = toState(item)
      // Taken up again by the same owner (or never held, or given up): nobody abandoned it.
      if (state.abandonedBy === '' || state.abandonedBy === owner) delete state.abandonedBy
      return state
    },

    async checkpoint (tenant, id, owner, progress, now, leaseMs) {
      return await updateWhileHeld(tenant, id, owner,
        'SET processedChunks = :processed, #counts = :counts, #errors = :errors, leaseUntil = :until, #outboxPk = :outboxPk, #outboxSk = :outboxSk',
        { processed: progress.processedChunks, counts: progress.counts, errors: progress.errors, ...heartbeatValues(tenant, id, now, leaseMs) })
    },

    async finish (tenant, id, owner, status, progress, now) {
      return await updateWhileHeld(tenant, id, owner,
        'SET #status = :status, #counts = :counts, #errors = :errors, finishedAt = :now REMOVE leaseOwner, leaseUntil, holder, abandonedBy, #outboxPk, #outboxSk',
        { status, counts: progress.counts, errors: progress.errors, now: now.toISOString() })
    },

    async wait (tenant, id, owner) {
      await update({
        Key: importKey(tenant, id),
        ...expressions({
          UpdateExpression: 'SET #status = :queued ADD attempts :minusOne REMOVE leaseOwner, leaseUntil, holder',
          // Only our own lease, while running: waiting for a turn is no attempt at the import.
          ConditionExpression: 'leaseOwner = :owner AND #status = :running'
        }, { queued: 'queued', running: 'running', owner, minusOne: -1 })
      })
    },

    line: readLine,

    async joinLine (tenant, scopeKey, id) {
      const key = importScopeLineKey(tenant, scopeKey)
      // The counter numbers the places: an import joining later stands behind, whatever its id.
      const counted = await update({ Key: key, ...expressions({ UpdateExpression: 'SET #tenant = :tenant ADD #next :one' }, { tenant, one: 1 }), ReturnValues: 'UPDATED_NEW' })
      const place = `${String(counted!.next).padStart(12, '0')}|${id}`
      return placesOf(await update({ Key: key, ...expressions({ UpdateExpression: 'ADD #waiting :place' }, { place: new Set([place]) }), ReturnValues: 'ALL_NEW' }))
    },

    async leaveLine (tenant, scopeKey, places) {
      if (places.length === 0) return await readLine(tenant, scopeKey)
      return placesOf(await update({ Key: importScopeLineKey(tenant, scopeKey), ...expressions({ UpdateExpression: 'DELETE #waiting :places' }, { places: new Set(places) }), ReturnValues: 'ALL_NEW' }))
    },

    async release (tenant, id, owner, now) {
      await update({
        Key: importKey(tenant, id),
        ...expressions({
          UpdateExpression: 'SET leaseUntil = :now REMOVE holder',
          // Only our own lease; whoever took it over keeps theirs.
          ConditionExpression: 'leaseOwner = :owner'
        }, { now: now.toISOString(), owner })
      })
    },

    async noteAbandoned (tenant, id, owner, processedChunks) {
      return await updateWhileHeld(tenant, id, owner, 'SET abandonedAt = :at', { at: processedChunks })
    }
  }
}

function placesOf (item: Record<string, unknown> | undefined): string[] {
  const waiting = item?.waiting
  return waiting instanceof Set ? [...waiting as Set<string>].sort() : []
}

function toState (item: Record<string, unknown>): ImportState {
  const state: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(item)) if (!internal.has(key)) state[key] = value
  // Imports stored before the asset was kept once carry it (and a first scope) twice.
  const scopes = (state.scopes as RunScope[]).map(({ tool, category }) => ({ tool, category }))
  delete state.scope
  return { ...state, scopes } as unknown as ImportState
}
