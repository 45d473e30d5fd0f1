import t from 'tap'
import { buildMockAuthApp } from '../../../functions/mock-auth/app.ts'
import { hashClientSecret } from '../../../functions/mock-auth/client-secret.ts'
import { isLoopbackIssuer, LOCAL_CLIENT_IDS } from '../../../functions/mock-auth/local-clients.ts'
import { generateSigningKey, loadSigningKeys } from '../../../functions/mock-auth/signing-keys.ts'
import { ConfigError } from '../../../shared/config.ts'
import { localClients, localSecrets } from './harness.ts'

t.test('loopback issuers are 127.0.0.0/8, ::1 and localhost, however the URL spells them; nothing else is', async (t) => {
  for (const issuer of ['http://127.0.0.1:8080', 'http://127.9.8.7', 'http://127.1', 'http://0x7f000001', 'http://[::1]:8080', 'http://[::ffff:127.0.0.1]', 'http://localhost:3000', 'http://LOCALHOST']) {
    t.equal(isLoopbackIssuer(issuer), true, issuer)
  }
  for (const issuer of ['https://records.example.com', 'http://0.0.0.0:8080', 'http://[::]:8080', 'http://10.0.0.1', 'http://192.168.1.10:8080', 'http://127.0.0.1.nip.io', 'http://localhost.example.com', 'http://[fe80::1]']) {
    t.equal(isLoopbackIssuer(issuer), false, issuer)
  }
})

t.test('the documented local clients are exactly the shipped ones', async (t) => {
  t.same([...LOCAL_CLIENT_IDS].sort(), Object.keys(localSecrets).sort())
})

t.test('with a non-loopback issuer, the app refuses every documented local client and names it', async (t) => {
  const signingKeys = await loadSigningKeys({ keys: [await generateSigningKey()] })
  const revocations = { revoke: async () => {}, isRevoked: async () => false }
  const shipped = await localClients()
  for (const client of shipped) {
    await t.rejects(
      buildMockAuthApp({ issuer: 'https://records.example.com', clients: [client], signingKeys, revocations, logger: false }),
      { constructor: ConfigError, message: new RegExp(`not a loopback address.*${client.client_id}`) },
      client.client_id
    )
  }
  // The id is what is documented, whatever secret it is registered with.
  const renamedSecret = { ...shipped[0]!, client_secret_hash: await hashClientSecret('a-secret-nobody-published') }
  await t.rejects(buildMockAuthApp({ issuer: 'http://0.0.0.0:8080', clients: [renamedSecret], signingKeys, revocations, logger: false }), ConfigError)
})

t.test('a non-loopback issuer with the deployment\'s own clients starts; a loopback one serves the local clients', async (t) => {
  const signingKeys = await loadSigningKeys({ keys: [await generateSigningKey()] })
  const revocations = { revoke: async () => {}, isRevoked: async () => false }
  const own = { client_id: 'scanner', client_secret_hash: await hashClientSecret('s3cret-of-the-deployment'), scopes: ['records:write' as const], tenant: 'acme', audiences: ['security-records-api'] }
  const cluster = await buildMockAuthApp({ issuer: 'https://records.example.com', clients: [own], signingKeys, revocations, logger: false })
  t.teardown(() => cluster.close())
  const local = await buildMockAuthApp({ issuer: 'http://[::1]:8080', clients: await localClients(), signingKeys, revocations, logger: false })
  t.teardown(() => local.close())
  t.pass('both built')
})
