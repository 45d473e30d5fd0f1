import { PutCommand } from '@aws-sdk/lib-dynamodb'
import type { Store } from './client.ts'
import { redeemedCodeKey, ttlAttribute } from './keys.ts'
import { writesUnlessConditionFails } from './store-errors.ts'

/** The authorization codes already exchanged for a token, by issuer and code id. */
export interface RedeemedCodes {
  /** True the first time a code is redeemed, false every time after (until `expiresAt`, epoch seconds, passes). */
  redeem (issuer: string, codeId: string, expiresAt: number, now?: Date): Promise<boolean>
}

export function createRedeemedCodes ({ documents, tableName }: Store): RedeemedCodes {
  return {
    async redeem (issuer, codeId, expiresAt, now = new Date()) {
      return writesUnlessConditionFails(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: { ...redeemedCodeKey(issuer, codeId), [ttlAttribute]: expiresAt },
        // A code is redeemed once; a mark left after its expiry (TTL deletion is late) counts as none.
        ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
        ExpressionAttributeNames: { '#ttl': ttlAttribute },
        ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) }
      })))
    }
  }
}
