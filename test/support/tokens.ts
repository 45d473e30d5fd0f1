import { randomUUID } from 'node:crypto'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'

export const TEST_ISSUER = 'https://auth.test.invalid'
export const TEST_AUDIENCE = 'security-records-api'

export interface TestKeys {
  jwks: { keys: JWK[] }
  /** The signing key as a private JWK, for a process that must sign with it (a stack's mock-auth). */
  privateJwk: JWK
  keySet: ReturnType<typeof createLocalJWKSet>
  /** Signs an access token; every claim and header can be overridden (or removed with undefined). */
  sign (claims?: Partial<Record<string, unknown>>, header?: Record<string, unknown>): Promise<string>
}

/** A fresh ES256 key pair per test file: no key is ever committed. */
export async function createTestKeys (kid = `test-${randomUUID()}`): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }
  const jwks = { keys: [jwk] }
  const { kty, crv, x, y, d } = await exportJWK(privateKey)
  return {
    jwks,
    privateJwk: { kty, crv, x, y, d, kid, alg: 'ES256' },
    keySet: createLocalJWKSet(jwks),
    async sign (claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000)
      const payload: JWTPayload = {
        iss: TEST_ISSUER,
        sub: 'client:test-writer',
        aud: TEST_AUDIENCE,
        client_id: 'test-writer',
        scope: 'records:read records:write records:delete',
        tenant: 'acme',
        iat: now,
        exp: now + 600,
        jti: randomUUID(),
        ...claims
      }
      for (const [key, value] of Object.entries(claims)) if (value === undefined) delete payload[key]
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...header }).sign(privateKey)
    }
  }
}
