/**
 * Micro-benchmark: µs per access-token verification with the API's verifier (its cache warm, and
 * cold with a new token each time) against a bare jose jwtVerify. `npm run bench` runs it as one
 * of its sections; alone it prints medians and asserts nothing.
 *
 *   node bench/token-verify.ts [verifications-per-batch] [batches]
 */
import { jwtVerify } from 'jose'
import { createAccessTokenService } from '../functions/mock-auth/access-tokens.ts'
import { generateSigningKey, loadSigningKeys } from '../functions/mock-auth/signing-keys.ts'
import { ALLOWED_ALGORITHMS, createTokenVerifier } from '../shared/auth/token-verifier.ts'

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

  const verifier = createTokenVerifier({ issuer, audience, keys: signingKeys.keySet, clockToleranceSeconds: 30, cacheSize: distinct.length + 1 })
  const joseOptions = { issuer, audience, algorithms: ALLOWED_ALGORITHMS, typ: 'at+jwt', clockTolerance: 30 }

  async function measure (name: string, verify: (index: number) => Promise<unknown>): Promise<VerificationTiming> {
    for (let i = 0; i < perBatch; i++) await verify(batches * perBatch + i)
    const samples: number[] = []
    for (let batch = 0; batch < batches; batch++) {
      const started = process.hrtime.bigint()
      for (let i = 0; i < perBatch; i++) await verify(batch * perBatch + i)
      samples.push(Number(process.hrtime.bigint() - started) / 1000 / perBatch)
    }
    samples.sort((a, b) => a - b)
    return { name, medianMicros: samples[Math.floor(samples.length / 2)]!, minMicros: samples[0]!, maxMicros: samples.at(-1)! }
  }

  const cold = createTokenVerifier({ issuer, audience, keys: signingKeys.keySet, clockToleranceSeconds: 30, cacheSize: distinct.length + 1 })
  return [
    await measure('createTokenVerifier, warm cache (same token)', () => verifier(token)),
    await measure('createTokenVerifier, cold (new token each)', (index) => cold(distinct[index % distinct.length]!)),
    await measure('jose jwtVerify (no cache)', () => jwtVerify(token, signingKeys.keySet, joseOptions))
  ]
}

if (import.meta.main) {
  const perBatch = Number(process.argv[2] ?? 500)
  const batches = Number(process.argv[3] ?? 20)
  console.log(`node ${process.version}, ES256, ${batches} batches × ${perBatch} verifications`)
  for (const { name, medianMicros, minMicros, maxMicros } of await measureTokenVerification({ perBatch, batches })) {
    console.log(`${name.padEnd(44)} median ${medianMicros.toFixed(2).padStart(8)} µs/verify   (min ${minMicros.toFixed(2)}, max ${maxMicros.toFixed(2)})`)
  }
}
