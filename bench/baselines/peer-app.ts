/**
 * The peer baseline: the records API as a team would first write it — one Fastify app for
 * every route, records keyed by id alone, lists served by a table Scan with a filter, and every
 * request's token verified from scratch (jose; no cache of verified tokens, no revocation list).
 * It exists only to be measured against; nothing outside bench/ imports it.
 */
import { randomUUID } from 'node:crypto'
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb'
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import Fastify, { type FastifyInstance } from 'fastify'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import type { SecurityRecord } from '../../shared/records/schema.ts'
import type { Store } from '../../shared/store/client.ts'

export const PEER_TABLE = 'peer-records'

export function peerTableDefinition (tableName = PEER_TABLE): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }]
  }
}

/** The peer's item: the record plus its tenant. */
export function peerItem (tenant: string, record: SecurityRecord): Record<string, unknown> {
  return { ...record, tenant }
}

export interface PeerOptions {
  store: Store
  issuer: string
  audience: string
  jwksUrl: string
}

const createSchema = {
  type: 'object',
  required: ['title', 'category', 'severity', 'asset'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 300 },
    description: { type: 'string', maxLength: 20000 },
    category: { type: 'string' },
    severity: { type: 'string', enum: ['critical', 'high', 'medium', 'low', 'info'] },
    asset: { type: 'object', required: ['name', 'type'], properties: { name: { type: 'string' }, type: { type: 'string' }, environment: { type: 'string' } } },
    vulnerabilityIds: { type: 'array', items: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    source: { type: 'object' }
  }
}

export async function buildPeerApp ({ store, issuer, audience, jwksUrl }: PeerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  const keys = createRemoteJWKSet(new URL(jwksUrl))
  const tableName = store.tableName

  app.decorateRequest('tenant', '')
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz') return
    try {
      const token = String(request.headers.authorization ?? '').replace(/^Bearer /, '')
      const { payload } = await jwtVerify(token, keys, { issuer, audience })
      ;(request as unknown as { tenant: string }).tenant = String(payload.tenant)
    } catch {
      return reply.code(401).send({ error: 'unauthorized' })
    }
  })
  const tenantOf = (request: object) => (request as { tenant: string }).tenant

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.post('/v1/records', { schema: { body: createSchema } }, async (request, reply) => {
    const now = new Date().toISOString()
    const record = { ...(request.body as object), id: randomUUID(), version: 1, status: 'open', createdAt: now, updatedAt: now, tenant: tenantOf(request) }
    await store.documents.send(new PutCommand({ TableName: tableName, Item: record }))
    return reply.code(201).send(record)
  })

  app.get('/v1/records/:id', async (request, reply) => {
    const { Item } = await store.documents.send(new GetCommand({ TableName: tableName, Key: { id: (request.params as { id: string }).id } }))
    if (!Item || Item.tenant !== tenantOf(request)) return reply.code(404).send({ error: 'not found' })
    return Item
  })

  // A Scan with a filter, repeated until the page is full or the table ends. The cursor is the
  // key of the last item served (Scan order is stable), base64 JSON, unsigned.
  app.get('/v1/records', async (request) => {
    const query = request.query as { status?: string, limit?: string, cursor?: string }
    const limit = Number(query.limit ?? 25)
    const names: Record<string, string> = { '#tenant': 'tenant' }
    const values: Record<string, unknown> = { ':tenant': tenantOf(request) }
    let filter = '#tenant = :tenant'
    if (query.status) {
      names['#status'] = 'status'
      const statuses = query.status.split(',')
      statuses.forEach((status, i) => { values[`:s${i}`] = status })
      filter += ` AND #status IN (${statuses.map((_, i) => `:s${i}`).join(', ')})`
    }
    let startKey = query.cursor ? JSON.parse(Buffer.from(query.cursor, 'base64url').toString()) as Record<string, unknown> : undefined
    const items: Record<string, unknown>[] = []
    do {
      const page = await store.documents.send(new ScanCommand({
        TableName: tableName, FilterExpression: filter, ExpressionAttributeNames: names, ExpressionAttributeValues: values, ExclusiveStartKey: startKey
      }))
      items.push(...(page.Items ?? []))
      startKey = page.LastEvaluatedKey
    } while (items.length < limit && startKey)
    const more = items.length > limit || startKey !== undefined
    const served = items.slice(0, limit)
    const nextKey = items.length > limit ? { id: served.at(-1)!.id } : startKey
    return { items: served, nextCursor: more && nextKey ? Buffer.from(JSON.stringify(nextKey)).toString('base64url') : null }
  })
  return app
}
