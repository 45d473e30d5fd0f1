import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { remoteKeySet, type Jwk, type RemoteKeySetOptions } from '../../shared/auth/key-set.ts'
import { createTokenVerifier } from '../../shared/auth/token-verifier.ts'
import { TEST_AUDIENCE, TEST_ISSUER, verifierProbe } from './tokens.ts'

/** An issuer's JWKS endpoint whose key set can change (rotation), counting what it is asked. */
export async function jwksEndpoint (t: Test, keys: { keys: Jwk[] }, answer?: (request: IncomingMessage, response: ServerResponse) => void) {
  const served = { keys: [...keys.keys] }
  const hits: string[] = []
  const server = createServer((request, response) => {
    hits.push(request.url ?? '')
    if (answer) return answer(request, response)
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(served))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/jwks`, served, hits }
}


/** A token verifier over the issuer's keys at `url`, as every deployed function has. */
export async function remoteVerifier (t: Test, url: string, options: RemoteKeySetOptions = {}) {
  return verifierProbe(t, createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: remoteKeySet(url, options), clockToleranceSeconds: 30 }))
}
