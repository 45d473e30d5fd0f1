import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { DEFAULT_COST, hashClientSecret, parseSecretHash, verifyClientSecret, type SecretHash } from '../../../functions/mock-auth/client-secret.ts'
import { loadMockAuthSettings } from '../../../functions/mock-auth/config.ts'
import { generateSigningKey } from '../../../functions/mock-auth/signing-keys.ts'
import { LOCAL_CLIENTS_FILE, LOCAL_USERS_FILE, localClients, localPasswords, localSecrets } from './harness.ts'

const run = promisify(execFile)
const clientsFile = fileURLToPath(LOCAL_CLIENTS_FILE)

async function validEnv (): Promise<Record<string, string>> {
  return {
    AUTH_ISSUER: 'http://127.0.0.1:8080',
    AUTH_CLIENTS_FILE: clientsFile,
    AUTH_SIGNING_KEYS_JSON: JSON.stringify({ keys: [await generateSigningKey()] }),
    PORT: '9000'
  }
}

t.test('the local registry ships the three clients of the contract and the console, secrets as scrypt hashes', async (t) => {
  const clients = await localClients()
  t.same(clients.map(({ client_secret_hash: _hash, ...client }) => client), [
    { client_id: 'local-admin', scopes: ['records:read', 'records:write', 'records:delete'], tenant: 'local', audiences: ['security-records-api', 'urn:example:other-api'] },
    { client_id: 'local-reader', scopes: ['records:read'], tenant: 'local', audiences: ['security-records-api'] },
    { client_id: 'local-other', scopes: ['records:read', 'records:write', 'records:delete'], tenant: 'other', audiences: ['security-records-api'] },
    { client_id: 'local-console', scopes: ['records:read', 'records:write', 'records:delete'], tenant: 'local', audiences: ['security-records-api'], token_lifetime_seconds: 3600, redirect_uris: ['http://127.0.0.1:8080/console/callback'] }
  ])
  for (const client of clients) {
    t.match(client.client_secret_hash, /^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/)
    t.notMatch(client.client_secret_hash, localSecrets[client.client_id]!)
    t.ok(await verifyClientSecret(localSecrets[client.client_id]!, parseSecretHash(client.client_secret_hash) as SecretHash), `${client.client_id}'s secret matches`)
  }
})

t.test('settings load from the environment: store settings, issuer, clients file, inline keys', async (t) => {
  const settings = await loadMockAuthSettings(await validEnv())
  t.match(settings.config, { PORT: 9000, HOST: '0.0.0.0', AUTH_ISSUER: 'http://127.0.0.1:8080', AUTH_AUDIENCE: 'security-records-api', AUTH_TRUSTED_PROXIES: '', TABLE_NAME: 'security-records', STORE_MAX_ATTEMPTS: 3 })
  t.equal(settings.clients.length, 4)
  t.equal(settings.users, undefined, 'no user directory: nobody signs in')
  t.equal(settings.signingKeys.jwks.keys.length, 1)
})

t.test('inline clients JSON works like the file', async (t) => {
  const { AUTH_CLIENTS_FILE: _file, ...env } = await validEnv()
  const settings = await loadMockAuthSettings({ ...env, AUTH_CLIENTS_JSON: JSON.stringify(await localClients()) })
  t.equal(settings.clients[2]?.tenant, 'other')
})

t.test('bad settings fail fast with a message naming the setting, and never echo secrets', async (t) => {
  const env = await validEnv()
  const clients = await localClients()
  const { AUTH_ISSUER: _issuer, ...noIssuer } = env
  const { AUTH_CLIENTS_FILE: _clients, ...noClients } = env
  const { AUTH_SIGNING_KEYS_JSON: _keys, ...noKeys } = env
  const withClients = (document: unknown) => ({ ...noClients, AUTH_CLIENTS_JSON: JSON.stringify(document) })
  const secretKey = await generateSigningKey()
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['no issuer', noIssuer, /AUTH_ISSUER/],
    ['issuer with a path', { ...env, AUTH_ISSUER: 'https://auth.example.com/realms/x' }, /AUTH_ISSUER/],
    ['issuer with a trailing slash', { ...env, AUTH_ISSUER: 'https://auth.example.com/' }, /AUTH_ISSUER/],
    ['no clients', noClients, /AUTH_CLIENTS_FILE.*AUTH_CLIENTS_JSON/],
    ['both client sources', { ...env, AUTH_CLIENTS_JSON: '[]' }, /either AUTH_CLIENTS_FILE or AUTH_CLIENTS_JSON/],
    ['missing clients file', { ...env, AUTH_CLIENTS_FILE: '/nonexistent/clients.json' }, /AUTH_CLIENTS_FILE \(\/nonexistent\/clients.json\): cannot read the file \(ENOENT\)/],
    ['clients not JSON', { ...noClients, AUTH_CLIENTS_JSON: '[{"client_secret_hash": "s3cr3t"' }, /AUTH_CLIENTS_JSON: not valid JSON/],
    ['no client at all', withClients([]), /AUTH_CLIENTS_JSON: \/ /],
    ['lifetime over an hour', withClients([{ ...clients[0], token_lifetime_seconds: 7200 }]), /\/0\/token_lifetime_seconds/],
    ['unknown scope', withClients([{ ...clients[0], scopes: ['records:admin'] }]), /\/0\/scopes\/0/],
    ['bad tenant', withClients([{ ...clients[0], tenant: '../etc' }]), /\/0\/tenant/],
    ['unknown member', withClients([{ ...clients[0], client_secret: 'plain-text-secret' }]), /AUTH_CLIENTS_JSON: \/0/],
    ['repeated client id', withClients([clients[0], { ...clients[1], client_id: 'local-admin' }]), /\/1\/client_id local-admin is registered twice/],
    ['plain secret instead of a hash', withClients([{ ...clients[0], client_secret_hash: 'local-admin-secret' }]), /\/0\/client_secret_hash must look like scrypt/],
    ['cost out of bounds', withClients([{ ...clients[0], client_secret_hash: clients[0]!.client_secret_hash.replace('$16384$', '$4194304$') }]), /N must be a power of two/],
    ['no signing keys', noKeys, /AUTH_SIGNING_KEYS_FILE.*AUTH_SIGNING_KEYS_JSON/],
    ['a private half that does not match', { ...env, AUTH_SIGNING_KEYS_JSON: JSON.stringify({ keys: [{ ...secretKey, d: 'AAAA' + secretKey.d!.slice(4) }] }) }, /AUTH_SIGNING_KEYS_JSON: \/keys\/0 is not a usable ES256 key pair/],
    ['port out of range', { ...env, PORT: '70000' }, /PORT/]
  ]
  for (const [name, caseEnv, message] of cases) {
    const error = await loadMockAuthSettings(caseEnv).then(() => undefined, (caught: unknown) => caught as Error)
    t.equal(error?.name, 'ConfigError', name)
    t.match(error?.message, message, name)
    for (const secret of ['s3cr3t', 'plain-text-secret', 'local-admin-secret', secretKey.d!.slice(4)]) t.notMatch(error?.message ?? '', secret, `${name}: no secret in the message`)
  }
})

t.test('client secret hashes: salted, self-describing, verified in constant time', async (t) => {
  const first = await hashClientSecret('correct horse')
  const second = await hashClientSecret('correct horse')
  t.not(first, second, 'a fresh salt each time')
  t.match(first, new RegExp(`^scrypt\\$${DEFAULT_COST.N}\\$${DEFAULT_COST.r}\\$${DEFAULT_COST.p}\\$`))
  const parsed = parseSecretHash(first) as SecretHash
  t.equal(await verifyClientSecret('correct horse', parsed), true)
  t.equal(await verifyClientSecret('correct horsf', parsed), false)
  t.equal(await verifyClientSecret('', parsed), false)

  const cheap = await hashClientSecret('x', { N: 1024, r: 8, p: 1 })
  t.equal(await verifyClientSecret('x', parseSecretHash(cheap) as SecretHash), true, 'the cost is read from the hash')
  t.match(parseSecretHash('scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), { problem: /power of two/ })
  t.match(parseSecretHash('scrypt$1024$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), { problem: /salt/ })
})

t.test('scripts/hash-client-secret.ts prints a verifiable hash of a secret read from stdin or argv', async (t) => {
  const script = fileURLToPath(new URL('../../../scripts/hash-client-secret.ts', import.meta.url))
  const fromStdin = await new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, [script], (error, stdout) => error ? reject(error) : resolve(stdout))
    child.stdin!.end('piped-secret\n')
  })
  t.ok(await verifyClientSecret('piped-secret', parseSecretHash(fromStdin.trim()) as SecretHash), 'the trailing newline is not part of the secret')

  const { stdout } = await run(process.execPath, [script, 'argv-secret'])
  t.ok(await verifyClientSecret('argv-secret', parseSecretHash(stdout.trim()) as SecretHash))

  const generated = await run(process.execPath, [script, '--generate'])
  const secret = /client_secret: (\S+)/.exec(generated.stderr)?.[1]
  t.ok(secret && secret.length >= 40)
  t.ok(await verifyClientSecret(secret!, parseSecretHash(generated.stdout.trim()) as SecretHash))
})

t.test('the local user directory: a triager and a viewer in tenant local, a triager in tenant other, passwords as scrypt hashes', async (t) => {
  const { AUTH_CLIENTS_FILE: _file, ...env } = await validEnv()
  const settings = await loadMockAuthSettings({ ...env, AUTH_CLIENTS_JSON: JSON.stringify(await localClients()), AUTH_USERS_FILE: fileURLToPath(LOCAL_USERS_FILE) })
  t.same(settings.users!.map(({ password_hash: _hash, ...user }) => user), [
    { username: 'local-triager', name: 'Tess Triager', tenant: 'local', roles: ['triager'] },
    { username: 'local-viewer', name: 'Val Viewer', tenant: 'local', roles: ['viewer'] },
    { username: 'other-triager', name: 'Otto Other', tenant: 'other', roles: ['triager'] }
  ])
  for (const user of settings.users!) {
    t.notMatch(user.password_hash, localPasswords[user.username]!)
    t.ok(await verifyClientSecret(localPasswords[user.username]!, parseSecretHash(user.password_hash) as SecretHash), `${user.username}'s password matches`)
  }
  await t.rejects(loadMockAuthSettings({ ...env, AUTH_CLIENTS_JSON: JSON.stringify(await localClients()), AUTH_USERS_JSON: '[{"username":"x"}]' }), /AUTH_USERS_JSON: \/0/)
})
