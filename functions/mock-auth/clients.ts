import { Type, type Static } from 'typebox'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { TENANT_PATTERN } from '../../shared/auth/token-verifier.ts'
import { ConfigError } from '../../shared/config.ts'
import { decoySecretHash, parseSecretHash, verifyClientSecret, type SecretHash } from './client-secret.ts'
import { checkDocument } from './settings-document.ts'

export const supportedScopes = Object.values(scopes)

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 600
export const MAX_TOKEN_LIFETIME_SECONDS = 3600

/** One registered client, as the registry document (a Secret in the cluster) describes it. */
export const RegisteredClient = Type.Object({
  // RFC 6749 §A.1: printable ASCII (client_secret_basic form-encodes it, so even `:` is safe).
  client_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x20-\\x7e]+$' }),
  client_secret_hash: Type.String({ minLength: 1, maxLength: 512, description: 'scrypt$N$r$p$salt$hash, made by scripts/hash-client-secret.ts.' }),
  scopes: Type.Array(Type.Enum(supportedScopes), { minItems: 1, uniqueItems: true }),
  tenant: Type.String({ pattern: TENANT_PATTERN }),
  audiences: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, uniqueItems: true }),
  token_lifetime_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: MAX_TOKEN_LIFETIME_SECONDS })),
  redirect_uris: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2000, pattern: '^https?://[^#\\s]+$' }), {
    minItems: 1,
    maxItems: 20,
    uniqueItems: true,
    description: 'Where the authorization code grant may send a person back, compared as exact strings. Only a client with these may use that grant.'
  }))
}, { additionalProperties: false })

export type RegisteredClient = Static<typeof RegisteredClient>

export const ClientRegistryDocument = Type.Array(RegisteredClient, { minItems: 1, maxItems: 1000 })

/** Checks a registry document: its shape, unique ids, and hashes that can be verified. */
export function parseClientRegistry (document: unknown, origin = 'client registry'): RegisteredClient[] {
  checkDocument(ClientRegistryDocument, document, origin)
  const clients = document as RegisteredClient[]
  const seen = new Set<string>()
  clients.forEach((client, index) => {
    if (seen.has(client.client_id)) throw new ConfigError(`${origin}: /${index}/client_id ${client.client_id} is registered twice`)
    seen.add(client.client_id)
    const parsed = parseSecretHash(client.client_secret_hash)
    if ('problem' in parsed) throw new ConfigError(`${origin}: /${index}/client_secret_hash ${parsed.problem}`)
  })
  return clients
}

export interface ClientRegistry {
  /** The client with this id and secret, or undefined: unknown id and wrong secret look alike, in result and in time. */
  authenticate (clientId: string, secret: string): Promise<RegisteredClient | undefined>
}

export function createClientRegistry (clients: readonly RegisteredClient[]): ClientRegistry {
  const byId = new Map<string, { client: RegisteredClient, secret: SecretHash }>()
  for (const client of parseClientRegistry(clients)) byId.set(client.client_id, { client, secret: parseSecretHash(client.client_secret_hash) as SecretHash })
  const decoy = decoySecretHash()
  return {
    async authenticate (clientId, secret) {
      const entry = byId.get(clientId)
      const matches = await verifyClientSecret(secret, entry?.secret ?? decoy)
      return matches && entry ? entry.client : undefined
    }
  }
}

export function tokenLifetimeSeconds (client: RegisteredClient): number {
  return client.token_lifetime_seconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS
}
