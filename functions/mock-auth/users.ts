import { Type, type Static } from 'typebox'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { TENANT_PATTERN } from '../../shared/auth/token-verifier.ts'
import { ConfigError } from '../../shared/config.ts'
import { decoySecretHash, parseSecretHash, verifyClientSecret, type SecretHash } from './client-secret.ts'
import { checkDocument } from './settings-document.ts'

/**
 * What a person may do, as scopes: the token a person gets through a client carries the scopes of
 * their roles that the client may also ask for.
 * - `triager`: reads and changes records, imports reports.
 * - `viewer`: reads only.
 * - `admin`: everything, deleting included.
 */
export const roleScopes = new Map<string, readonly string[]>([
  ['triager', [scopes.read, scopes.write]],
  ['viewer', [scopes.read]],
  ['admin', [scopes.read, scopes.write, scopes.delete]]
])

/** One person who may sign in at the login page, as the user directory document describes them. */
export const LocalUser = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: 'The sign-in name, and `sub` of the person\'s tokens.' }),
  password_hash: Type.String({ minLength: 1, maxLength: 512, description: 'scrypt$N$r$p$salt$hash, made by scripts/hash-client-secret.ts.' }),
  name: Type.String({ minLength: 1, maxLength: 200, description: 'The display name the history shows.' }),
  tenant: Type.String({ pattern: TENANT_PATTERN }),
  roles: Type.Array(Type.Enum([...roleScopes.keys()]), { minItems: 1, uniqueItems: true })
}, { additionalProperties: false })

export type LocalUser = Static<typeof LocalUser>

export const UserDirectoryDocument = Type.Array(LocalUser, { maxItems: 1000 })

/** Checks a user directory document: its shape, unique names, and hashes that can be verified. */
export function parseUserDirectory (document: unknown, origin = 'user directory'): LocalUser[] {
  checkDocument(UserDirectoryDocument, document, origin)
  const users = document as LocalUser[]
  const seen = new Set<string>()
  users.forEach((user, index) => {
    if (seen.has(user.username)) throw new ConfigError(`${origin}: /${index}/username ${user.username} is listed twice`)
    seen.add(user.username)
    const parsed = parseSecretHash(user.password_hash)
    if ('problem' in parsed) throw new ConfigError(`${origin}: /${index}/password_hash ${parsed.problem}`)
  })
  return users
}

export interface UserDirectory {
  /** The person with this name and password, or undefined: unknown name and wrong password look alike, in result and in time. */
  authenticate (username: string, password: string): Promise<LocalUser | undefined>
  /** Whether anyone may sign in at all. */
  readonly empty: boolean
}

export function createUserDirectory (users: readonly LocalUser[]): UserDirectory {
  const byName = new Map<string, { user: LocalUser, password: SecretHash }>()
  for (const user of parseUserDirectory(users)) byName.set(user.username, { user, password: parseSecretHash(user.password_hash) as SecretHash })
  const decoy = decoySecretHash()
  return {
    empty: byName.size === 0,
    async authenticate (username, password) {
      const entry = byName.get(username)
      const matches = await verifyClientSecret(password, entry?.password ?? decoy)
      return matches && entry ? entry.user : undefined
    }
  }
}

/** The scopes of a person's roles, in the order the API lists them. */
export function scopesOfRoles (roles: readonly string[]): string[] {
  const granted = new Set(roles.flatMap((role) => roleScopes.get(role) ?? []))
  return Object.values(scopes).filter((scope) => granted.has(scope))
}
