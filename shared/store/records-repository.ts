import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb'
import { NotFoundError, PreconditionFailedError } from '../errors.ts'
import type { SecurityRecord } from '../records/schema.ts'
import { etagOf } from '../records/etag.ts'
import { internalAttributes, recordIndexAttributes, recordKey } from './keys.ts'
import type { Store } from './client.ts'
import { isConditionFailed, storeCall } from './store-errors.ts'
import { planListQuery, type ListFilters, type PartitionQuery } from './list-plan.ts'

export interface ListPage {
  items: SecurityRecord[]
  /** Where the next page starts, when there may be one. */
  resumeAfter?: string
}

/** The record items of the table: every call takes the tenant, and every key starts with it. */
export function createRecordsRepository ({ documents, tableName }: Store) {
  const notFound = (id: string) => new NotFoundError(`No record with id ${id}`)

  function toItem (tenant: string, record: SecurityRecord) {
    return { ...record, ...recordKey(tenant, record.id), ...recordIndexAttributes(tenant, record), tenant }
  }

  async function get (tenant: string, id: string): Promise<SecurityRecord | undefined> {
    const { Item } = await storeCall(() => documents.send(new GetCommand({
      TableName: tableName,
      Key: recordKey(tenant, id),
      // Read-your-writes: a client that just created or changed a record must see it.
      ConsistentRead: true
    })))
    return Item ? toRecord(Item) : undefined
  }

  /** After a conditional write failed: was the record gone, or was it changed by someone else? */
  async function explainConflict (tenant: string, id: string): Promise<never> {
    const current = await get(tenant, id)
    if (!current) throw notFound(id)
    throw new PreconditionFailedError(etagOf(current))
  }

  return {
    get,

    async getOrThrow (tenant: string, id: string): Promise<SecurityRecord> {
      const record = await get(tenant, id)
      if (!record) throw notFound(id)
      return record
    },

    async insert (tenant: string, record: SecurityRecord): Promise<void> {
      await storeCall(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: toItem(tenant, record),
        // Create: never overwrite an existing record, whatever the id.
        ConditionExpression: 'attribute_not_exists(pk)'
      })))
    },

    async replace (tenant: string, record: SecurityRecord, expectedVersion: number): Promise<void> {
      try {
        await storeCall(() => documents.send(new PutCommand({
          TableName: tableName,
          Item: toItem(tenant, record),
          // Update: the record still exists and nobody wrote since we read it (no lost update).
          ConditionExpression: 'attribute_exists(pk) AND #version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion }
        })))
      } catch (error) {
        if (isConditionFailed(error)) await explainConflict(tenant, record.id)
        throw error
      }
    },

    async remove (tenant: string, id: string, expectedVersion?: number): Promise<SecurityRecord> {
      try {
        const { Attributes } = await storeCall(() => documents.send(new DeleteCommand({
          TableName: tableName,
          Key: recordKey(tenant, id),
          ReturnValues: 'ALL_OLD',
          // Delete: the record exists and, when the client sent If-Match, is still that version.
          ConditionExpression: expectedVersion === undefined ? 'attribute_exists(pk)' : 'attribute_exists(pk) AND #version = :expected',
          ...(expectedVersion === undefined
            ? {}
            : { ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':expected': expectedVersion } })
        })))
        return toRecord(Attributes ?? {})
      } catch (error) {
        if (isConditionFailed(error)) await explainConflict(tenant, id)
        throw error
      }
    },

    /**
     * One page of a filtered list. Each filter maps to an index partition (or several, merged in
     * order); filters without an index only narrow a Query, and each partition reads a bounded
     * number of items, so a page can end early with a position to resume after.
     */
    async list (tenant: string, filters: ListFilters, limit: number, after: string | undefined, now: Date): Promise<ListPage> {
      const plan = planListQuery(tenant, filters, now)
      const ascending = filters.order === 'asc'
      const before = (a: string, b: string) => ascending ? a < b : a > b
      const results = await Promise.all(plan.partitions.map((partition) => queryPartition(partition, plan.readBudget(limit), after, ascending)))

      // Only items before every unfinished partition's frontier are known to be in order.
      let bound: string | undefined
      for (const { frontier } of results) if (frontier !== undefined && (bound === undefined || before(frontier, bound))) bound = frontier
      const candidates = results.flatMap((result) => result.items)
        .filter((entry) => bound === undefined || entry.position === bound || before(entry.position, bound))
        .sort((a, b) => (a.position === b.position ? 0 : before(a.position, b.position) ? -1 : 1))
      const page = candidates.slice(0, limit)
      const more = candidates.length > limit || bound !== undefined
      let resumeAfter: string | undefined
      if (page.length === limit && more) resumeAfter = page[page.length - 1]!.position
      else if (page.length < limit && bound !== undefined) resumeAfter = bound
      return { items: page.map((entry) => entry.record), ...(resumeAfter ? { resumeAfter } : {}) }
    }
  }

  async function queryPartition (partition: PartitionQuery, readBudget: number, after: string | undefined, ascending: boolean) {
    const { index } = partition
    const names: Record<string, string> = { '#pk': index.pk, ...partition.filter?.names }
    const values: Record<string, unknown> = { ':pk': partition.value, ...partition.filter?.values }
    let keyCondition = '#pk = :pk'
    if (after !== undefined) {
      // Resume strictly after the last position served: no repeats, no gaps.
      keyCondition += ` AND #sk ${ascending ? '>' : '<'} :after`
      names['#sk'] = index.sk
      values[':after'] = after
    }
    const input: QueryCommandInput = {
      TableName: tableName,
      IndexName: index.name,
      KeyConditionExpression: keyCondition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: ascending,
      Limit: readBudget,
      ...(partition.filter ? { FilterExpression: partition.filter.expression } : {})
    }
    const { Items = [], LastEvaluatedKey } = await storeCall(() => documents.send(new QueryCommand(input)))
    return {
      items: Items.map((item) => ({ position: String(item[index.sk]), record: toRecord(item) })),
      frontier: LastEvaluatedKey ? String(LastEvaluatedKey[index.sk]) : undefined
    }
  }
}

export type RecordsRepository = ReturnType<typeof createRecordsRepository>

const internal = new Set(internalAttributes)

/** Drops the store's attributes: what is left is the record as the API shows it. */
function toRecord (item: Record<string, unknown>): SecurityRecord {
  const record: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(item)) if (!internal.has(key)) record[key] = value
  return record as SecurityRecord
}
