import { createHash } from 'node:crypto'
import type { SecurityRecord } from '../records/schema.ts'

/**
 * The one place that spells the table's keys and indexes. Every item's partition key starts
 * with its tenant, so no key built here can reach another tenant's data.
 */
export const indexes = {
  byTenant: { name: 'by-tenant', pk: 'gsi1pk', sk: 'gsi1sk' },
  byStatus: { name: 'by-status', pk: 'gsi2pk', sk: 'gsi2sk' },
  bySeverity: { name: 'by-severity', pk: 'gsi3pk', sk: 'gsi3sk' },
  byAsset: { name: 'by-asset', pk: 'gsi4pk', sk: 'gsi4sk' },
  byCategory: { name: 'by-category', pk: 'gsi5pk', sk: 'gsi5sk' },
  /** Sparse: only items whose history entry or event is still owed. The sweeper reads it. */
  outbox: { name: 'outbox', pk: 'outboxPk', sk: 'outboxSk' }
} as const

export interface IndexSpec { name: string, pk: string, sk: string }

/** Attribute that DynamoDB's TTL (and our reads) use for expiry, in epoch seconds. */
export const ttlAttribute = 'expiresAtEpoch'

/**
 * The mark of a record an import created: its scope's key (shared/imports/import-scope.ts). Only
 * the import writes it and every later write of the record keeps it; no request can set it (it is
 * no record field), so a record a client makes is never import-owned, whatever its fingerprint.
 */
export const importOwnerAttribute = 'importScope'

/** Attributes that belong to the store, never to a record a client sees. */
export const internalAttributes = [
  'pk', 'sk', 'tenant', ttlAttribute, 'change', 'historyVersion', 'deleted', importOwnerAttribute,
  ...Object.values(indexes).flatMap((index) => [index.pk, index.sk])
]

const hash = (value: string) => createHash('sha256').update(value).digest('base64url')

export interface ItemKey { pk: string, sk: string }

export function recordKey (tenant: string, id: string): ItemKey {
  return { pk: `T#${tenant}#R#${id}`, sk: 'RECORD' }
}

/** Index sort key: creation time, then id, so it is unique and a cursor can resume after it. */
export function listPosition (record: Pick<SecurityRecord, 'createdAt' | 'id'>): string {
  return `${record.createdAt}#${record.id}`
}

/**
 * How the index partitions that grow with a tenant are split (docs/sizing.md). A partition of a big
 * tenant would take every write of that tenant (DynamoDB: about 1 000 writes/s per partition) and
 * hold every one of its records (ScyllaDB Alternator: views are tables, and a partition past
 * 100 000 rows is a "large partition"). So each is split into `shards` partitions by a stable hash
 * of the record id, and lists query every shard and merge them in list-position order.
 *
 * The layout is a table setting, recorded in the table itself (layoutKey): writers and readers of
 * every function read it there, so they cannot disagree. `alsoRead` lists the shard counts of
 * earlier layouts whose items a reshard job has not rewritten yet: reads query those too.
 */
export interface IndexLayout {
  shards: number
  alsoRead: number[]
}

/** Tables made before sharding have no layout item: every index partition is whole (today's keys). */
export const UNSHARDED: IndexLayout = { shards: 1, alsoRead: [] }

/**
 * What one index partition should take at most: DynamoDB's per-partition write limit (1 000 write
 * units a second) and ScyllaDB's large-partition row threshold (100 000 rows). docs/sizing.md cites both.
 */
export const PARTITION_LIMITS = { writeUnitsPerSecond: 1000, rows: 100_000 }

/**
 * Shards per index partition for a table whose biggest tenant has `tenantRecords` records and
 * writes `writesPerSecond` records a second of `writeUnitsPerWrite` units each: enough that one
 * shard stays under 80 % of each limit (hashing is not perfectly even), rounded up to a power of two.
 */
export function indexShardsFor ({ tenantRecords, writesPerSecond, writeUnitsPerWrite }: { tenantRecords: number, writesPerSecond: number, writeUnitsPerWrite: number }): number {
  const needed = Math.max(
    (writesPerSecond * writeUnitsPerWrite) / (0.8 * PARTITION_LIMITS.writeUnitsPerSecond),
    tenantRecords / (0.8 * PARTITION_LIMITS.rows),
    1
  )
  return Math.min(MAX_INDEX_SHARDS, 2 ** Math.ceil(Math.log2(needed)))
}

/**
 * Shards per index partition in a new table (INDEX_SHARDS of jobs/create-table overrides it):
 * sized for a tenant writing 1 000 records a second of up to 2 write units each; every list page
 * costs one Query per shard, so it is no bigger. A table for 10 million-record tenants needs 128.
 */
export const DEFAULT_INDEX_SHARDS = 4
export const MAX_INDEX_SHARDS = 256

/** The item recording the table's index layout (not tenant data: it names no tenant). */
export const layoutKey: ItemKey = { pk: 'TABLE', sk: 'INDEX-LAYOUT' }

export interface Shard { index: number, of: number }

/** The shard of a record: a stable hash of its id, so every write of a record lands in the same shard. */
export function shardOf (id: string, shards: number): Shard {
  return { index: createHash('sha256').update(id).digest().readUInt32BE(0) % shards, of: shards }
}

/** Every shard of a layout, and of the layouts it still reads. A shard count of 1 is the unsharded key. */
export function shardsToRead (layout: IndexLayout): Shard[] {
  const counts = [...new Set([layout.shards, ...layout.alsoRead])]
  return counts.flatMap((of) => Array.from({ length: of }, (_, index) => ({ index, of })))
}

/**
 * The partition of each access pattern; values come last so they cannot forge a tenant prefix.
 * A shard tag follows the pattern's name (`STATUS@3/16`), so a value cannot forge a shard either,
 * and shards of layouts with different counts never share a partition. One shard of one is today's key.
 */
const shardTag = (shard?: Shard) => (shard === undefined || shard.of === 1 ? '' : `@${shard.index}/${shard.of}`)
export const partitions = {
  byTenant: (tenant: string, shard?: Shard) => (shardTag(shard) === '' ? `T#${tenant}` : `T#${tenant}#ALL${shardTag(shard)}`),
  byStatus: (tenant: string, status: string, shard?: Shard) => `T#${tenant}#STATUS${shardTag(shard)}#${status}`,
  bySeverity: (tenant: string, severity: string, shard?: Shard) => `T#${tenant}#SEVERITY${shardTag(shard)}#${severity}`,
  byAsset: (tenant: string, assetName: string, shard?: Shard) => `T#${tenant}#ASSET${shardTag(shard)}#${assetName}`,
  byCategory: (tenant: string, category: string, shard?: Shard) => `T#${tenant}#CATEGORY${shardTag(shard)}#${category}`
}

/** The index attributes of a record item, recomputed on every write, in the table's layout. */
export function recordIndexAttributes (tenant: string, record: SecurityRecord, layout: IndexLayout): Record<string, string> {
  const position = listPosition(record)
  const shard = shardOf(record.id, layout.shards)
  return {
    [indexes.byTenant.pk]: partitions.byTenant(tenant, shard),
    [indexes.byTenant.sk]: position,
    [indexes.byStatus.pk]: partitions.byStatus(tenant, record.status, shard),
    [indexes.byStatus.sk]: position,
    [indexes.bySeverity.pk]: partitions.bySeverity(tenant, record.severity, shard),
    [indexes.bySeverity.sk]: position,
    [indexes.byAsset.pk]: partitions.byAsset(tenant, record.asset.name, shard),
    [indexes.byAsset.sk]: position,
    [indexes.byCategory.pk]: partitions.byCategory(tenant, record.category, shard),
    [indexes.byCategory.sk]: position
  }
}

/** The record indexes (every index but the outbox): what a tombstone leaves and a reshard rewrites. */
export const recordIndexes = [indexes.byTenant, indexes.byStatus, indexes.bySeverity, indexes.byAsset, indexes.byCategory]

const HISTORY_PREFIX = 'HISTORY#'

/** A record's history entries share its partition, sorted by version. */
export function historyKey (tenant: string, id: string, version: number): ItemKey {
  return { pk: recordKey(tenant, id).pk, sk: historySortKey(version) }
}

export function historySortKey (version: number): string {
  return `${HISTORY_PREFIX}${String(version).padStart(12, '0')}`
}

export const historyPartition = (tenant: string, id: string) => ({ pk: recordKey(tenant, id).pk, prefix: HISTORY_PREFIX })

/** Outbox entries spread over a few partitions so no single index partition takes every write. */
const OUTBOX_SHARDS = 8
export const outboxPartitions = Array.from({ length: OUTBOX_SHARDS }, (_, shard) => `OUTBOX#${shard}`)

/** Marks an item as owing work since `at`: it shows up in the outbox index until cleared. */
export function outboxAttributes (tenant: string, id: string, at: string): Record<string, string> {
  const shard = createHash('sha256').update(`${tenant}/${id}`).digest()[0]! % OUTBOX_SHARDS
  return { [indexes.outbox.pk]: outboxPartitions[shard]!, [indexes.outbox.sk]: `${at}#${tenant}#${id}` }
}

/** A report import: its state item, and the parts it keeps (report chunks, run contexts) in its partition. */
export const IMPORT_SORT_KEY = 'IMPORT'
export type ImportPartKind = 'CHUNK' | 'RUNS'

export function importKey (tenant: string, id: string): ItemKey {
  return { pk: `T#${tenant}#IMPORT#${id}`, sk: IMPORT_SORT_KEY }
}

export function importPartKey (tenant: string, id: string, kind: ImportPartKind, index: number): ItemKey {
  return { pk: importKey(tenant, id).pk, sk: `${kind}#${String(index).padStart(6, '0')}` }
}

/**
 * The line of an import scope (shared/imports/scope-turns.ts): the scope's unfinished imports in
 * the order they joined it, and the counter that numbers them.
 */
export function importScopeLineKey (tenant: string, scopeKey: string): ItemKey {
  return { pk: `T#${tenant}#IMPORT-SCOPE#${hash(scopeKey)}`, sk: 'LINE' }
}

/** Guard item that makes a fingerprint unique per tenant without transactions. */
export function fingerprintKey (tenant: string, fingerprint: string): ItemKey {
  return { pk: `T#${tenant}#FP#${hash(fingerprint)}`, sk: 'FINGERPRINT' }
}

/** Idempotency keys are scoped to the client that sent them (IETF httpapi-idempotency-key-header). */
export function idempotencyKey (tenant: string, clientId: string, key: string): ItemKey {
  return { pk: `T#${tenant}#IDEM#${hash(`${clientId}\n${key}`)}`, sk: 'IDEMPOTENCY' }
}

/** A key no item ever has: reading it proves the store answers, at almost no cost. */
export const healthProbeKey: ItemKey = { pk: 'HEALTH', sk: 'HEALTH' }

export function revokedTokenKey (issuer: string, jti: string): ItemKey {
  return { pk: `REVOKED#${hash(`${issuer}\n${jti}`)}`, sk: 'TOKEN' }
}

/** Marks an authorization code as redeemed: a code is exchanged once. */
export function redeemedCodeKey (issuer: string, codeId: string): ItemKey {
  return { pk: `CODE#${hash(`${issuer}\n${codeId}`)}`, sk: 'REDEEMED' }
}

/**
 * Metrics counters (shared/metrics): per tenant, write-sharded by a stable hash of the record id
 * into METRIC_SHARDS partitions, so no counter item takes every write of a big tenant (each takes
 * a quarter: some thousands of counted changes a second before DynamoDB's per-partition limit
 * throttles, which a delivery answers 503 and the broker redelivers). A fixed count (not the index
 * layout's): a reader sums every shard, and every shard is a read more, so it stays small.
 * Changing it means resetting the counters (jobs/rebuild-metrics, METRICS_RESET) and listing the
 * count before in RETIRED_METRIC_SHARDS, whose partitions the reset empties.
 */
export const METRIC_SHARDS = 4
/** Shard counts of earlier layouts: a reset removes what is left in their partitions. */
export const RETIRED_METRIC_SHARDS: readonly number[] = [8]
export const metricShardOf = (recordId: string): number => shardOf(recordId, METRIC_SHARDS).index
const metricShardTag = (shard: number, of = METRIC_SHARDS) => `@${shard}/${of}`

export const metricKeys = {
  /** A shard's counts: every live record by severity and status, active ones by category and due block. */
  counts: (tenant: string, shard: number, of = METRIC_SHARDS): ItemKey => ({ pk: `T#${tenant}#METRICS${metricShardTag(shard, of)}`, sk: 'COUNTS' }),
  /** A shard's remediation figures of one day (`YYYY-MM-DD`): resolved, time to resolve, in time. */
  day: (tenant: string, shard: number, day: string): ItemKey => ({ pk: `T#${tenant}#METRICS${metricShardTag(shard)}`, sk: `DAY#${day}` }),
  dayPrefix: 'DAY#',
  /** A shard's remediation figures of one remediation block (named by its first day), its days summed. */
  remediation: (tenant: string, shard: number, block: string): ItemKey => ({ pk: `T#${tenant}#METRICS${metricShardTag(shard)}`, sk: `REM#${block}` }),
  remediationPrefix: 'REM#',
  /** A shard's active records with a deadline, by severity and due day, of one due block (named by its first day). */
  due: (tenant: string, shard: number, block: string): ItemKey => ({ pk: `T#${tenant}#METRICS${metricShardTag(shard)}`, sk: `DUE#${block}` }),
  duePrefix: 'DUE#',
  /** A shard's opened and resolved per day of one trend block (named by its first day). */
  trend: (tenant: string, shard: number, block: string): ItemKey => ({ pk: `T#${tenant}#METRICS${metricShardTag(shard)}`, sk: `TREND#${block}` }),
  trendPrefix: 'TREND#',
  /** One asset's counts (not sharded: an asset's writes are a part of its tenant's). */
  asset: (tenant: string, asset: string): ItemKey => ({ pk: `T#${tenant}#METRICS-ASSET#${asset}`, sk: 'ASSET' }),
  /** One asset's place in the top list: its name and open count only, so the list reads small items. */
  assetTop: (tenant: string, asset: string): ItemKey => ({ pk: `T#${tenant}#METRICS-ASSET#${asset}`, sk: 'TOP' }),
  /**
   * A shard's change count: every counted change adds one once its counter items are written, so a
   * summary read when the counts of every shard were what they are now still holds.
   */
  changes: (tenant: string, shard: number): ItemKey => ({ pk: `T#${tenant}#METRICS-CHANGES${metricShardTag(shard)}`, sk: 'CHANGES' }),
  /** The tenant's figures of one window as last read, with the shards' change counts they were read at. */
  summary: (tenant: string, windowDays: number): ItemKey => ({ pk: `T#${tenant}#METRICS-SUMMARY`, sk: `WINDOW#${windowDays}` }),
  /** What a record counts under now, and the version it reflects: the guard of exactly-once counting. */
  record: (tenant: string, id: string): ItemKey => ({ pk: recordKey(tenant, id).pk, sk: 'METRICS' })
}

/**
 * Sparse index entries of the metrics items, in indexes whose partitions records never use:
 * assets by open count (the top-N list: a Query per shard, largest first), and per-record metrics
 * items that count (the rebuild job walks them to find records deleted without an event), and
 * per-record metrics items of deleted records by deletion time (the rebuild job prunes the old
 * ones). A per-record item is either counted or deleted, so the last two share an index.
 */
export const metricIndexes = {
  topAssets: indexes.byCategory,
  countedRecords: indexes.byTenant,
  tombstones: indexes.byTenant
}
export const metricPartitions = {
  topAssets: (tenant: string, asset: string) => `T#${tenant}#METRICS-TOP${metricShardTag(shardOf(asset, METRIC_SHARDS).index)}`,
  topAssetsShard: (tenant: string, shard: number, of = METRIC_SHARDS) => `T#${tenant}#METRICS-TOP${metricShardTag(shard, of)}`,
  countedRecords: (tenant: string, id: string) => `T#${tenant}#METRICS-RECORDS${metricShardTag(metricShardOf(id))}`,
  countedRecordsShard: (tenant: string, shard: number, of = METRIC_SHARDS) => `T#${tenant}#METRICS-RECORDS${metricShardTag(shard, of)}`,
  tombstones: (tenant: string, id: string) => `T#${tenant}#METRICS-DELETED${metricShardTag(metricShardOf(id))}`,
  tombstonesShard: (tenant: string, shard: number, of = METRIC_SHARDS) => `T#${tenant}#METRICS-DELETED${metricShardTag(shard, of)}`
}

/** A tombstone's place in its partition of the tombstone index: deletion time first, so the oldest come first. */
export const tombstonePosition = (deletedAt: string, id: string): string => `${deletedAt}#${id}`

/** The top-asset sort key: larger open counts first (an ascending Query reads them first). */
export function topAssetPosition (open: number, asset: string): string {
  return `${String(1e12 - Math.max(0, open)).padStart(13, '0')}#${asset}`
}
