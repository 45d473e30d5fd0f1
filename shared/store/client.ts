import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.ts'
import { assertItemFits } from './item-size.ts'

export interface Store {
  client: DynamoDBClient
  documents: DynamoDBDocumentClient
  tableName: string
}

/**
 * Creates the SDK clients once per process. Timeouts and the SDK's standard retry strategy
 * (exponential backoff with jitter, throttling included) bound how long a dead store can hold
 * a request: about STORE_MAX_ATTEMPTS × STORE_TIMEOUT_MS.
 */
export function createStore (config: Pick<Config, 'DYNAMODB_ENDPOINT' | 'AWS_REGION' | 'STORE_TIMEOUT_MS' | 'STORE_MAX_ATTEMPTS' | 'TABLE_NAME'>, env = process.env): Store {
  const local = config.DYNAMODB_ENDPOINT !== undefined && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE && !env.AWS_WEB_IDENTITY_TOKEN_FILE
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}),
    // Stores started for development accept any key; real ones get credentials from the default chain.
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: config.STORE_MAX_ATTEMPTS,
    retryMode: 'standard',
    // throwOnRequestTimeout: without it the SDK only logs a warning when requestTimeout passes and
    // keeps waiting for a store that accepted the connection but never answers.
    requestHandler: {
      connectionTimeout: config.STORE_TIMEOUT_MS,
      requestTimeout: config.STORE_TIMEOUT_MS,
      socketTimeout: config.STORE_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      // No socket cap (the SDK's is 50): requestTimeout starts when a call is made, so a call
      // queued for a socket spends its timeout waiting inside this process and is retried,
      // though the store never saw it. A list sends one Query per index shard at once, so a
      // pod with a few dozen lists in flight has hundreds of calls in flight; what bounds them
      // is the function's concurrency (docs/sizing.md), not a hidden queue.
      httpAgent: { maxSockets: Infinity },
      httpsAgent: { maxSockets: Infinity }
    }
  })
  const documents = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false }
  })
  // Every item written is measured first (the repositories measure theirs earlier, by name): over
  // the limit, the store would answer a ValidationException, which is no fault of the store.
  client.middlewareStack.add((next) => async (args) => {
    const input = args.input as { Item?: Record<string, unknown>, RequestItems?: Record<string, unknown> }
    if (input.Item) assertItemFits(input.Item, 'An item this request writes')
    // A BatchWriteItem's requests per table (a BatchGetItem's are an object of keys: nothing to measure).
    for (const requests of Object.values(input.RequestItems ?? {})) {
      if (!Array.isArray(requests)) continue
      for (const request of requests as Array<{ PutRequest?: { Item?: Record<string, unknown> } }>) if (request.PutRequest?.Item) assertItemFits(request.PutRequest.Item, 'An item this request writes')
    }
    return next(args)
  }, { step: 'initialize', name: 'itemSizeGuard' })
  return { client, documents, tableName: config.TABLE_NAME }
}
