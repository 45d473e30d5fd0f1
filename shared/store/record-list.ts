import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb'
import type { ListFilters } from '../records/list-filters.ts'
import type { SecurityRecord } from '../records/schema.ts'
import type { Store } from './client.ts'
import { expressions } from './expressions.ts'
import { importOwnerAttribute, indexes, partitions, shardsToRead, type IndexLayout } from './keys.ts'
import { planListQuery, type PartitionQuery, type ReadBudget } from './list-plan.ts'
import { toStored } from './record-items.ts'
import { storeCall } from './store-errors.ts'

/** Reading lists of records: Queries of the indexes, never a Scan. */

export interface ListPage {
  items: SecurityRecord[]
  /** Where the next page starts, when there may be one. */
  resumeAfter?: string
}

/** An import scope: its key (the mark of the records it created), and how their fingerprints started before there was a mark. */
export interface OwnedBy { key: string, legacyPrefix: string }
/** A record an import created, as the walk of its scope answers it; `importScope` absent: made before the mark. */
export interface ImportOwned { id: string, fingerprint: string, importScope?: string }

/** An asset's records one import scope created, a page at a time (see RecordsRepository.listImportOwned). */
export async function listImportOwned ({ documents, tableName }: Store, layout: IndexLayout, tenant: string, assetName: string, scope: OwnedBy, after?: Record<string, unknown>): Promise<{ items: ImportOwned[], after?: Record<string, unknown> }> {
  // The asset's shards one after the other (order does not matter here); `after` says which
  // shard the last page ended in and where.
  const shards = shardsToRead(layout)
  const start = typeof after?.shard === 'number' ? after.shard : 0
  for (let shard = start; shard < shards.length; shard++) {
    const resume = shard === start ? after?.key as Record<string, unknown> | undefined : undefined
    const { Items = [], LastEvaluatedKey } = await storeCall(() => documents.send(new QueryCommand({
      TableName: tableName,
      IndexName: indexes.byAsset.name,
      ...expressions({
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: '#owner = :key OR (attribute_not_exists(#owner) AND begins_with(#fingerprint, :legacyPrefix))',
        ProjectionExpression: '#id, #fingerprint, #owner'
      }, { pk: partitions.byAsset(tenant, assetName, shards[shard]), key: scope.key, legacyPrefix: scope.legacyPrefix }, { pk: indexes.byAsset.pk, owner: importOwnerAttribute }),
      Limit: 500,
      ...(resume ? { ExclusiveStartKey: resume } : {})
    })))
    const next = LastEvaluatedKey ? { shard, key: LastEvaluatedKey } : shard + 1 < shards.length ? { shard: shard + 1 } : undefined
    if (Items.length > 0 || !next) return { items: Items.map((item) => ({ id: String(item.id), fingerprint: String(item.fingerprint), ...(typeof item[importOwnerAttribute] === 'string' ? { importScope: item[importOwnerAttribute] } : {}) })), ...(next ? { after: next } : {}) }
    if (LastEvaluatedKey) return { items: [], after: next }
  }
  return { items: [] }
}

/**
 * One page of a filtered list. Each filter maps to index partitions (several values, and every
 * shard of each), merged in list-position order; filters without an index only narrow a Query.
 * Each partition reads a bounded number of items, so a page can end early with a position to
 * resume after.
 */
export async function listRecords (store: Store, layout: IndexLayout, tenant: string, filters: ListFilters, limit: number, after: string | undefined, now: Date): Promise<ListPage> {
  const plan = planListQuery(tenant, filters, now, layout)
  const ascending = filters.order === 'asc'
  const before = (a: string, b: string) => ascending ? a < b : a > b
  const inOrder = (a: { position: string }, b: { position: string }) => (a.position === b.position ? 0 : before(a.position, b.position) ? -1 : 1)
  const budget = plan.readBudget(limit)
  const streams: PartitionStream[] = plan.partitions.map((partition) => ({ partition, items: [], read: 0, resumeAfter: after, done: false }))

  // Rounds of Queries: first every partition's share, then again only the partitions whose
  // unread items could still belong in this page (their frontier comes before the page's
  // last item so far), while their budget lasts.
  let due = streams
  while (due.length > 0) {
    await Promise.all(due.map((stream) => readMore(store, stream, budget, ascending)))
    const read = streams.flatMap((stream) => stream.items).sort(inOrder)
    const last = read.length >= limit ? read[limit - 1]!.position : undefined
    due = streams.filter((stream) => !stream.done && stream.read < budget.most && (last === undefined || before(stream.resumeAfter!, last)))
  }

  // Only items before every unfinished partition's frontier are known to be in order.
  let bound: string | undefined
  for (const stream of streams) if (!stream.done && (bound === undefined || before(stream.resumeAfter!, bound))) bound = stream.resumeAfter
  const candidates = streams.flatMap((stream) => stream.items)
    .filter((entry) => bound === undefined || entry.position === bound || before(entry.position, bound))
    .sort(inOrder)
  const page = candidates.slice(0, limit)
  const more = candidates.length > limit || bound !== undefined
  let resumeAfter: string | undefined
  if (page.length === limit && more) resumeAfter = page[page.length - 1]!.position
  else if (page.length < limit && bound !== undefined) resumeAfter = bound
  return { items: page.map((entry) => entry.record), ...(resumeAfter ? { resumeAfter } : {}) }
}

/** Reads a partition's next items: a round's share, or what is left of its budget. */
async function readMore ({ documents, tableName }: Store, stream: PartitionStream, budget: ReadBudget, ascending: boolean) {
  const { index } = stream.partition
  const names: Record<string, string> = { '#pk': index.pk, ...stream.partition.filter?.names }
  const values: Record<string, unknown> = { ':pk': stream.partition.value, ...stream.partition.filter?.values }
  let keyCondition = '#pk = :pk'
  if (stream.resumeAfter !== undefined) {
    // Resume strictly after the last position served: no repeats, no gaps.
    keyCondition += ` AND #sk ${ascending ? '>' : '<'} :after`
    names['#sk'] = index.sk
    values[':after'] = stream.resumeAfter
  }
  const input: QueryCommandInput = {
    TableName: tableName,
    IndexName: index.name,
    KeyConditionExpression: keyCondition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ScanIndexForward: ascending,
    Limit: Math.min(budget.first, budget.most - stream.read),
    ...(stream.partition.filter ? { FilterExpression: stream.partition.filter.expression } : {})
  }
  const { Items = [], LastEvaluatedKey, ScannedCount } = await storeCall(() => documents.send(new QueryCommand(input)))
  for (const item of Items) stream.items.push({ position: String(item[index.sk]), record: toStored(item).record })
  stream.read += ScannedCount ?? input.Limit!
  if (LastEvaluatedKey) stream.resumeAfter = String(LastEvaluatedKey[index.sk])
  else stream.done = true
}

/** One partition of a list page being read: what it gave so far and where it stopped. */
interface PartitionStream {
  partition: PartitionQuery
  items: Array<{ position: string, record: SecurityRecord }>
  /** Items evaluated (the Query's Limit counts those a filter dropped too). */
  read: number
  /** The position its next Query resumes after. */
  resumeAfter: string | undefined
  done: boolean
}
