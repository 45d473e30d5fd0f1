import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import proxyAddr from 'proxy-addr'
import { ConfigError } from '../../shared/config.ts'

const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal'])
/** A lower-case HTTP field name (RFC 9110 §5.1 token), not one whose value a client controls by design. */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/
const CLIENT_CONTROLLED = new Set(['x-forwarded-for', 'forwarded', 'x-real-ip', 'host'])

/** A proxy-addr trust list, checked here so a typo is a clear start-up error rather than a stack trace. */
export function trustedProxyList (list: string): string[] {
  const entries = list.split(',').map((entry) => entry.trim()).filter(Boolean)
  for (const entry of entries) {
    const [address = '', bits, ...rest] = entry.split('/')
    const family = isIP(address)
    const maxBits = family === 4 ? 32 : 128
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits)
    if (!PROXY_PRESETS.has(entry) && (family === 0 || !validBits || rest.length > 0)) {
      throw new ConfigError(`trusted proxies: ${entry} is not loopback, linklocal, uniquelocal, an IP address or a CIDR`)
    }
  }
  return entries
}

export interface ClientAddressOptions {
  /** AUTH_TRUSTED_PROXIES: the proxies whose forwarding headers are believed. */
  trustedProxies?: string
  /**
   * AUTH_CLIENT_ADDRESS_HEADER: a header the edge proxy *sets* (overwriting whatever the client
   * sent) to the address it saw, e.g. Istio's `%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`. Believed
   * only when the peer is a trusted proxy; X-Forwarded-For is then ignored, because an edge behind
   * a load balancer that rewrites source addresses (SNAT) would pass a client's forged entries on.
   */
  clientAddressHeader?: string
}

/**
 * The address failed client authentications are counted by: the header the edge stamped when the
 * request came through a trusted proxy, else Fastify's `request.ip` (the peer, or the nearest
 * untrusted X-Forwarded-For entry when proxies are trusted).
 */
export function clientAddressResolver ({ trustedProxies = '', clientAddressHeader = '' }: ClientAddressOptions): (request: FastifyRequest) => string {
  const header = clientAddressHeader.trim().toLowerCase()
  if (!header) return (request) => request.ip
  if (!HEADER_NAME.test(header) || CLIENT_CONTROLLED.has(header)) {
    throw new ConfigError(`client address header: ${clientAddressHeader} is not a header an edge proxy sets (a field name other than ${[...CLIENT_CONTROLLED].join(', ')})`)
  }
  const proxies = trustedProxyList(trustedProxies)
  if (proxies.length === 0) throw new ConfigError('client address header: set the trusted proxies (AUTH_TRUSTED_PROXIES) it may come from')
  const trusted = proxyAddr.compile(proxies)
  return (request) => {
    const stamped = request.headers[header]
    const peer = request.socket.remoteAddress ?? ''
    if (typeof stamped === 'string' && isIP(stamped.trim()) !== 0 && trusted(peer, 0)) return stamped.trim()
    return request.ip
  }
}
