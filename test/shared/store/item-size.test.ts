import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { itemSize, MAX_ITEM_BYTES } from '../../../shared/store/item-size.ts'
import { startTestStore } from '../../support/store.ts'

/**
 * The item size DynamoDB counts (attribute names and values, numbers by significant digits,
 * 3 bytes a list or map and 1 an element), checked against the store itself at the limit: the
 * store in use (dynalite, or DynamoDB Local under `npm run test:dynamodb-local`) takes an item
 * of exactly MAX_ITEM_BYTES by this count and refuses one byte more.
 */

t.test('sizes as DynamoDB documents them', async (t) => {
  t.equal(itemSize({ a: 'xyz' }), 4, 'a string: its UTF-8 bytes and its name\'s')
  t.equal(itemSize({ a: '€' }), 4, '3 UTF-8 bytes')
  t.equal(itemSize({ n: 12345 }), 1 + 3 + 1, 'a number: 1 byte per two significant digits, plus 1')
  t.equal(itemSize({ n: 1200000 }), 1 + 1 + 1, 'trailing zeros trimmed')
  t.equal(itemSize({ n: 0.0012 }), 1 + 1 + 1, 'leading zeros trimmed')
  t.equal(itemSize({ b: true, z: null }), 2 + 2)
  t.equal(itemSize({ bin: new Uint8Array(10) }), 3 + 10)
  t.equal(itemSize({ l: [] }), 1 + 3, 'an empty list')
  t.equal(itemSize({ l: ['ab', 'c'] }), 1 + 3 + (1 + 2) + (1 + 1), '1 byte of overhead per element')
  t.equal(itemSize({ m: { ab: 'c' } }), 1 + 3 + (1 + 2 + 1), 'map element names count')
  t.equal(itemSize({ s: new Set(['ab', 'c']) }), 1 + 3, 'a set: its elements')
  t.equal(itemSize({ gone: undefined }), 0, 'undefined is left out, as the client removes it')
})

t.test('the store takes an item of exactly the limit by this count, and refuses one byte more', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  // A client without the guard: the store itself decides.
  const raw = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: store.endpoint, region: 'eu-central-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }))
  t.teardown(() => raw.destroy())
  const itemOf = (bytes: number, shape: 'flat' | 'nested') => {
    const base = shape === 'flat'
      ? { pk: 'P#size', sk: 'S#flat', n: 123456789, flag: true, pad: '' }
      : { pk: 'P#size', sk: 'S#nested', list: [1, 'two', { three: [null, false] }], map: { a: { b: 'c' } }, pad: '' }
    return { ...base, pad: 'x'.repeat(bytes - itemSize(base)) }
  }
  for (const shape of ['flat', 'nested'] as const) {
    const exact = itemOf(MAX_ITEM_BYTES, shape)
    t.equal(itemSize(exact), MAX_ITEM_BYTES)
    await t.resolves(raw.send(new PutCommand({ TableName: store.tableName, Item: exact })), `${shape}: ${MAX_ITEM_BYTES} bytes are taken`)
    await t.rejects(raw.send(new PutCommand({ TableName: store.tableName, Item: itemOf(MAX_ITEM_BYTES + 1, shape) })), { name: 'ValidationException', message: /[Ii]tem size/ }, `${shape}: one byte more is refused`)
  }
})

t.test('the data layer\'s client refuses an item over the limit before sending it, naming the limit', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  await t.rejects(store.documents.send(new PutCommand({ TableName: store.tableName, Item: { pk: 'P#x', sk: 'S#x', pad: 'x'.repeat(MAX_ITEM_BYTES) } })), { statusCode: 413, code: 'SR_ITEM_TOO_LARGE', message: /over the store's item limit of 400 KB/ })
  const { Item } = await store.documents.send(new GetCommand({ TableName: store.tableName, Key: { pk: 'P#x', sk: 'S#x' } }))
  t.equal(Item, undefined, 'nothing was written')
})
