import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import type { Store } from './client.ts'
import { revokedTokenKey, ttlAttribute } from './keys.ts'
import { storeCall } from './store-errors.ts'

/**
 * The denylist of revoked access tokens (RFC 7009), keyed by issuer and `jti`. An entry lives
 * until the token would have expired anyway; reads compare that expiry themselves.
 */
export interface RevokedTokens {
  /** Adds a token to the denylist until `expiresAt` (epoch seconds), when it would expire anyway. */
  revoke (issuer: string, tokenId: string, expiresAt: number): Promise<void>
  isRevoked (issuer: string, tokenId: string, now?: Date): Promise<boolean>
}

export function createRevokedTokens ({ documents, tableName }: Store): RevokedTokens {
  return {
    async revoke (issuer, tokenId, expiresAt) {
      await storeCall(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: { ...revokedTokenKey(issuer, tokenId), [ttlAttribute]: expiresAt }
      })))
    },

    async isRevoked (issuer, tokenId, now = new Date()) {
      const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: revokedTokenKey(issuer, tokenId) })))
      return Item !== undefined && Number(Item[ttlAttribute]) * 1000 > now.getTime()
    }
  }
}

/**
 * Asks the denylist at most once per `cacheMs` per token: the longest a revoked token can still
 * pass is that interval (plus the store's replication delay on eventually consistent reads).
 */
export function cachedRevocationCheck (revokedTokens: Pick<RevokedTokens, 'isRevoked'>, cacheMs: number, maxEntries = 10_000) {
  const checkedAt = new Map<string, { at: number, revoked: boolean }>()
  return async function isRevoked (issuer: string, tokenId: string): Promise<boolean> {
    const key = `${issuer}\n${tokenId}`
    const now = Date.now()
    const hit = checkedAt.get(key)
    if (hit && (hit.revoked || now - hit.at < cacheMs)) return hit.revoked
    const revoked = await revokedTokens.isRevoked(issuer, tokenId)
    if (checkedAt.size >= maxEntries) checkedAt.delete(checkedAt.keys().next().value!)
    checkedAt.set(key, { at: now, revoked })
    return revoked
  }
}
