import { Type, type Static } from 'typebox'
import { ConfigSchema, loadSettings } from '../../shared/config.ts'
import { parseClientRegistry, type RegisteredClient } from './clients.ts'
import { ISSUER_PATTERN } from './endpoints.ts'
import { parseUserDirectory, type LocalUser } from './users.ts'
import { readSettingDocument } from './settings-document.ts'
import { loadSigningKeys, type SigningKeys } from './signing-keys.ts'

const { PORT, HOST, LOG_LEVEL, TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS, REQUEST_TIMEOUT_MS } = ConfigSchema.properties

/** Every setting the mock authorization function reads; the store settings are the record functions'. */
export const MockAuthConfigSchema = Type.Object({
  PORT, HOST, LOG_LEVEL, TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS, REQUEST_TIMEOUT_MS,
  AUTH_ISSUER: Type.String({ pattern: ISSUER_PATTERN, description: 'This server\'s issuer: `iss` of its tokens and the base of its endpoint URLs, an origin such as https://auth.example.com.' }),
  AUTH_TRUSTED_PROXIES: Type.String({ default: '', maxLength: 1024, description: 'Proxies whose forwarding headers mock-auth believes when it counts failed client authentications per address: `loopback`, `uniquelocal`, `linklocal`, addresses or CIDRs, comma-separated. Empty: the peer address. In a Knative cluster `loopback` (the queue-proxy), with AUTH_CLIENT_ADDRESS_HEADER.' }),
  AUTH_CLIENT_ADDRESS_HEADER: Type.String({ default: '', maxLength: 64, description: 'A header the edge proxy sets (overwriting what the client sent) to the address it saw, believed only from AUTH_TRUSTED_PROXIES; X-Forwarded-For is then ignored. The Istio ingress and the local gateway set `x-client-address`. Empty: X-Forwarded-For through the trusted proxies.' }),
  AUTH_AUDIENCE: Type.String({ minLength: 1, default: 'security-records-api', description: '`aud` of a token when the client names no `resource` (and may reach this audience).' }),
  AUTH_CLIENTS_FILE: Type.Optional(Type.String({ minLength: 1, description: 'Path of the registered clients (JSON array; a mounted Secret). Secrets are stored as scrypt hashes.' })),
  AUTH_CLIENTS_JSON: Type.Optional(Type.String({ minLength: 2, description: 'The registered clients as inline JSON, instead of AUTH_CLIENTS_FILE.' })),
  AUTH_USERS_FILE: Type.Optional(Type.String({ minLength: 1, description: 'Path of the people who may sign in at the authorization endpoint (JSON array; a mounted Secret). Passwords are stored as scrypt hashes. Unset (and no AUTH_USERS_JSON): nobody signs in, clients only.' })),
  AUTH_USERS_JSON: Type.Optional(Type.String({ minLength: 2, description: 'The people who may sign in as inline JSON, instead of AUTH_USERS_FILE.' })),
  AUTH_SIGNING_KEYS_FILE: Type.Optional(Type.String({ minLength: 1, description: 'Path of the private JWK set (a mounted Secret); the last key signs, all are published.' })),
  AUTH_SIGNING_KEYS_JSON: Type.Optional(Type.String({ minLength: 2, description: 'The private JWK set as inline JSON, instead of AUTH_SIGNING_KEYS_FILE.' }))
})

export type MockAuthConfig = Static<typeof MockAuthConfigSchema>

export const MOCK_AUTH_SECRET_SETTINGS: ReadonlySet<string> = new Set(['AUTH_CLIENTS_JSON', 'AUTH_SIGNING_KEYS_JSON', 'AUTH_USERS_JSON'])

export interface MockAuthSettings {
  config: MockAuthConfig
  clients: RegisteredClient[]
  /** Undefined when no user directory is configured. */
  users: LocalUser[] | undefined
  signingKeys: SigningKeys
}

/** Reads the settings, the client registry and the signing keys once, at start-up; fails fast naming each problem. */
export async function loadMockAuthSettings (env: Record<string, string | undefined> = process.env): Promise<MockAuthSettings> {
  return readMockAuthDocuments(loadSettings(MockAuthConfigSchema, env, MOCK_AUTH_SECRET_SETTINGS))
}

/** The client registry, the user directory and the signing keys the settings point to (files or inline JSON). */
export async function readMockAuthDocuments (config: MockAuthConfig): Promise<MockAuthSettings> {
  const registry = await readSettingDocument({ fileVariable: 'AUTH_CLIENTS_FILE', jsonVariable: 'AUTH_CLIENTS_JSON', file: config.AUTH_CLIENTS_FILE, json: config.AUTH_CLIENTS_JSON })
  const keys = await readSettingDocument({ fileVariable: 'AUTH_SIGNING_KEYS_FILE', jsonVariable: 'AUTH_SIGNING_KEYS_JSON', file: config.AUTH_SIGNING_KEYS_FILE, json: config.AUTH_SIGNING_KEYS_JSON })
  const people = config.AUTH_USERS_FILE === undefined && config.AUTH_USERS_JSON === undefined
    ? undefined
    : await readSettingDocument({ fileVariable: 'AUTH_USERS_FILE', jsonVariable: 'AUTH_USERS_JSON', file: config.AUTH_USERS_FILE, json: config.AUTH_USERS_JSON })
  return {
    config,
    clients: parseClientRegistry(registry.document, registry.origin),
    users: people ? parseUserDirectory(people.document, people.origin) : undefined,
    signingKeys: await loadSigningKeys(keys.document, keys.origin)
  }
}
