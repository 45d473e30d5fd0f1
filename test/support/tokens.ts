import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type SignOptions } from 'jose'
import type { Test } from 'tap'
import { localKeySet, type KeySource } from '../../shared/auth/key-set.ts'
import type { AccessToken, TokenVerifier } from '../../shared/auth/token-verifier.ts'

export const TEST_ISSUER = 'https://auth.test.invalid'
export const TEST_AUDIENCE = 'security-records-api'

export interface TestKeys {
  jwks: { keys: JWK[] }
  /** The signing key as a private JWK, for a process that must sign with it (a stack's mock-auth). */
  privateJwk: JWK
  keySet: KeySource
  /** Signs an access token; every claim and header can be overridden (or removed with undefined). */
  sign (claims?: Partial<Record<string, unknown>>, header?: Record<string, unknown>, options?: SignOptions): Promise<string>
}

/** A fresh key pair (ES256 unless asked for RS256) per test file: no key is ever committed. */
export async function createTestKeys (kid = `test-${randomUUID()}`, alg: 'ES256' | 'RS256' = 'ES256'): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  const jwks = { keys: [jwk] }
  return {
    jwks,
    // The whole private key (an RSA key's primes too), for a process that signs with it.
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
    keySet: localKeySet(jwks),
    async sign (claims = {}, header = {}, options) {
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
      return new SignJWT(payload).setProtectedHeader({ alg, typ: 'at+jwt', kid, ...header }).sign(privateKey, options)
    }
  }
}

/**
 * A token verifier plugin run the way a route runs it (`request.verifyAccessToken()`), for tests
 * that check tokens outside the records API. One token at a time.
 */
export async function verifierProbe (t: Test, verifier: TokenVerifier): Promise<(token: string) => Promise<AccessToken>> {
  const app = Fastify({ logger: false })
  await app.register(verifier)
  let outcome: { token: AccessToken } | { error: unknown } = { error: new Error('not verified yet') }
  app.get('/', async (request) => {
    outcome = await request.verifyAccessToken().then((token) => ({ token }), (error: unknown) => ({ error }))
    return ''
  })
  t.teardown(() => app.close())
  return async (token) => {
    await app.inject({ url: '/', headers: { authorization: `Bearer ${token}` } })
    if ('error' in outcome) throw outcome.error
    return outcome.token
  }
}
