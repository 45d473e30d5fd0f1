/**
 * Micro-benchmark: µs per access-token verification with the API's verifier (its cache warm, and
 * cold with a new token each time) against a bare jose jwtVerify. Prints medians; asserts nothing.
 *
 *   node scripts/bench-token-verify.ts [verifications-per-batch] [batches]
 */
import { jwtVerify } from 'jose'
import { createAccessTokenService } from '../functions/mock-auth/access-tokens.ts'
import { generateSigningKey, loadSigningKeys } from '../functions/mock-auth/signing-keys.ts'
import { ALLOWED_ALGORITHMS, createTokenVerifier } from '../shared/auth/token-verifier.ts'

const perBatch = Number(process.argv[2] ?? 500)
const batches = Number(process.argv[3] ?? 20)
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

/** Median over batches of the mean µs per call within a batch. */
async function measure (name: string, verify: (index: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < perBatch; i++) await verify(batches * perBatch + i)
  const samples: number[] = []
  for (let batch = 0; batch < batches; batch++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) await verify(batch * perBatch + i)
    samples.push(Number(process.hrtime.bigint() - started) / 1000 / perBatch)
  }
  samples.sort((a, b) => a - b)
  const median = samples[Math.floor(samples.length / 2)]!
  console.log(`${name.padEnd(44)} median ${median.toFixed(2).padStart(8)} µs/verify   (min ${samples[0]!.toFixed(2)}, max ${samples.at(-1)!.toFixed(2)})`)
}

console.log(`node ${process.version}, ES256, ${batches} batches × ${perBatch} verifications`)
await measure('createTokenVerifier, warm cache (same token)', () => verifier(token))
const cold = createTokenVerifier({ issuer, audience, keys: signingKeys.keySet, clockToleranceSeconds: 30, cacheSize: distinct.length + 1 })
await measure('createTokenVerifier, cold (new token each)', (index) => cold(distinct[index % distinct.length]!))
await measure('jose jwtVerify (no cache)', () => jwtVerify(token, signingKeys.keySet, joseOptions))
