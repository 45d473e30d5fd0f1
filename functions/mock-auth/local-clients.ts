import { BlockList, isIP } from 'node:net'
import { ConfigError } from '../../shared/config.ts'
import type { RegisteredClient } from './clients.ts'
import type { LocalUser } from './users.ts'

/**
 * The clients the README documents for the local stack, secrets and all: anyone can use them, so
 * they may only be registered where only this machine can reach the server.
 */
export const LOCAL_CLIENT_IDS: readonly string[] = ['local-admin', 'local-reader', 'local-other', 'local-console']

/** The people the README documents for the local stack, passwords and all: the same rule holds. */
export const LOCAL_USER_NAMES: readonly string[] = ['local-triager', 'local-viewer', 'other-triager']

const loopback = new BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')

/**
 * Whether an issuer names this machine only: `localhost`, 127.0.0.0/8 or ::1 (IPv4-mapped too),
 * after URL normalisation (`http://127.1` and `http://0x7f000001` are 127.0.0.1). 0.0.0.0 is not:
 * it is what a server bound to every interface calls itself.
 */
export function isLoopbackIssuer (issuer: string): boolean {
  const host = new URL(issuer).hostname.replace(/^\[(.*)\]$/, '$1')
  const family = isIP(host)
  if (family === 0) return host === 'localhost'
  return loopback.check(host, family === 4 ? 'ipv4' : 'ipv6')
}

/** Refuses a registry holding a documented local client when the issuer is reachable from elsewhere. */
export function refuseLocalClientsOffLoopback (issuer: string, clients: readonly RegisteredClient[]): void {
  if (isLoopbackIssuer(issuer)) return
  const found = clients.map((client) => client.client_id).filter((id) => LOCAL_CLIENT_IDS.includes(id))
  if (found.length === 0) return
  throw new ConfigError(`the issuer ${issuer} is not a loopback address, and the registry holds the local client${found.length > 1 ? 's' : ''} ${found.join(', ')}, whose secret${found.length > 1 ? 's are' : ' is'} published in the README; register your own clients instead`)
}

/** Refuses a user directory holding a documented local person when the issuer is reachable from elsewhere. */
export function refuseLocalUsersOffLoopback (issuer: string, users: readonly LocalUser[]): void {
  if (isLoopbackIssuer(issuer)) return
  const found = users.map((user) => user.username).filter((name) => LOCAL_USER_NAMES.includes(name))
  if (found.length === 0) return
  throw new ConfigError(`the issuer ${issuer} is not a loopback address, and the user directory holds the local user${found.length > 1 ? 's' : ''} ${found.join(', ')}, whose password${found.length > 1 ? 's are' : ' is'} published in the README; list your own users instead`)
}
