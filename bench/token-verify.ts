/**
 * Micro-benchmark: µs per access-token verification with the API's verifier — @fastify/jwt and
 * fast-jwt, keys from a JWKS served over loopback through remoteKeySet — with its cache warm, and
 * cold with a new token each time, against a bare jose jwtVerify (the verifier before @fastify/jwt).
 * `npm run bench` runs it as one of its sections; alone it prints medians and asserts nothing.
 *
 *   node bench/token-verify.ts [verifications-per-batch] [batches]
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyRequest } from 'fastify'
import { jwtVerify } from 'jose'
import { createAccessTokenService } from '../functions/mock-auth/access-tokens.ts'
import { generateSigningKey, loadSigningKeys } from '../functions/mock-auth/signing-keys.ts'
import { remoteKeySet } from '../shared/auth/key-set.ts'
import { ALLOWED_ALGORITHMS, createTokenVerifier, type TokenVerifier } from '../shared/auth/token-verifier.ts'

export interface VerificationTiming {
  name: string
  /** Median over batches of the mean µs per verification within a batch. */
  medianMicros: number
  minMicros: number
  maxMicros: number
}

export async function measureTokenVerification ({ perBatch = 500, batches = 20 } = {}): Promise<VerificationTiming[]> {
  const issuer = 'https://auth.bench.invalid'
  const audience = 'security-records-api'
  const signingKeys = await loadSigningKeys({ keys: [await generateSigningKey()] })
  const tokens = createAccessTokenService({ issuer, signingKeys })
  const client = { client_id: 'bench', client_secret_hash: '', scopes: ['records:read' as const], tenant: 'bench', audiences: [audience] }
  const issue = async () => (await tokens.issue(client, ['records:read'], audience)).token
  const token = await issue()
  // One token per measured call plus a warm-up batch, so the cold run never meets a token twice.
  const distinct = await Promise.all(Array.from({ length: perBatch * (batches + 1) }, issue))

  const jwksServer = createServer((_request, response) => response.setHeader('content-type', 'application/json').end(JSON.stringify(signingKeys.jwks)))
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`
  const verifierOptions = { issuer, audience, clockToleranceSeconds: 30, cacheSize: distinct.length + 1 }
  const warm = await requestVerifier(createTokenVerifier({ ...verifierOptions, keys: remoteKeySet(jwksUrl) }))
  const cold = await requestVerifier(createTokenVerifier({ ...verifierOptions, keys: remoteKeySet(jwksUrl) }))
  const joseOptions = { issuer, audience, algorithms: ALLOWED_ALGORITHMS, typ: 'at+jwt', clockTolerance: 30 }

  // The variants take turns batch by batch, so a busy machine slows them alike.
  const variants: Array<[string, (index: number) => Promise<unknown>]> = [
    ['createTokenVerifier, warm cache (same token)', () => warm.verify(token)],
    ['createTokenVerifier, cold (new token each)', (index) => cold.verify(distinct[index]!)],
    ['jose jwtVerify (no cache)', () => jwtVerify(token, signingKeys.keySet, joseOptions)]
  ]
  try {
    for (const [, verify] of variants) for (let i = 0; i < perBatch; i++) await verify(batches * perBatch + i)
    const samples = variants.map((): number[] => [])
    for (let batch = 0; batch < batches; batch++) {
      for (const [variant, [, verify]] of variants.entries()) {
        const started = process.hrtime.bigint()
        for (let i = 0; i < perBatch; i++) await verify(batch * perBatch + i)
        samples[variant]!.push(Number(process.hrtime.bigint() - started) / 1000 / perBatch)
      }
    }
    return variants.map(([name], variant) => {
      const sorted = samples[variant]!.sort((a, b) => a - b)
      return { name, medianMicros: sorted[Math.floor(sorted.length / 2)]!, minMicros: sorted[0]!, maxMicros: sorted.at(-1)! }
    })
  } finally {
    await warm.close()
    await cold.close()
    jwksServer.close()
  }
}

/**
 * The verifier plugin in an app, called the way a route calls it, without the HTTP round trip:
 * one real request object is kept and given each token in turn.
 */
async function requestVerifier (verifier: TokenVerifier) {
  const app = Fastify({ logger: false })
  await app.register(verifier)
  let kept: FastifyRequest | undefined
  app.get('/', async (request) => { kept = request; return '' })
  await app.inject({ url: '/' })
  const request = kept!
  return {
    verify (token: string) {
      request.headers.authorization = `Bearer ${token}`
      return request.verifyAccessToken()
    },
    close: () => app.close()
  }
}

if (import.meta.main) {
  const perBatch = Number(process.argv[2] ?? 500)
  const batches = Number(process.argv[3] ?? 20)
  console.log(`node ${process.version}, ES256, ${batches} batches × ${perBatch} verifications`)
  for (const { name, medianMicros, minMicros, maxMicros } of await measureTokenVerification({ perBatch, batches })) {
    console.log(`${name.padEnd(44)} median ${medianMicros.toFixed(2).padStart(8)} µs/verify   (min ${minMicros.toFixed(2)}, max ${maxMicros.toFixed(2)})`)
  }
}
