import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { ClientRegistry, RegisteredClient } from './clients.ts'
import type { GuessingThrottle } from './guessing-throttle.ts'
import { InvalidClientError, InvalidRequestError } from './oauth-errors.ts'
import type { SecretCheckQueue } from './secret-check-queue.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The client that authenticated this request (token, introspection and revocation endpoints). */
    client: RegisteredClient
  }
}

/** The form fields of client_secret_post, beside the endpoint's own parameters. */
export interface ClientCredentialFields {
  client_id?: string
  client_secret?: string
}

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i
const MAX_CREDENTIAL_LENGTH = 512

export interface ClientAuthenticationOptions {
  clients: ClientRegistry
  /** The address a request's failures are counted by (see client-address.ts). */
  clientAddress: (request: FastifyRequest) => string
  /** Counts failures per client and address; refuses (429) before any secret is checked. */
  throttle: GuessingThrottle
  /** Bounds and orders the scrypt work. */
  secretChecks: SecretCheckQueue
}

/**
 * Client authentication of RFC 6749 §2.3.1, for every route of the plugin it is registered in:
 * `client_secret_basic` (id and secret form-urlencoded, then Basic) or `client_secret_post`,
 * never both. Runs after the body is parsed and validated, before the handler.
 */
const clientAuthentication: FastifyPluginAsync<ClientAuthenticationOptions> = async (app, { clients, clientAddress, throttle, secretChecks }) => {
  app.decorateRequest('client', null as unknown as RegisteredClient)
  app.addHook('preHandler', async (request) => {
    const { clientId, secret } = presentedCredentials(request)
    if (clientId.length > MAX_CREDENTIAL_LENGTH || secret.length > MAX_CREDENTIAL_LENGTH) throw new InvalidClientError('Client authentication failed')
    const address = clientAddress(request)
    const attempt = throttle.admit(clientId, address)
    let client: RegisteredClient | undefined
    try {
      const ticket = { trusted: attempt.trusted, key: attempt.trusted ? clientId : address }
      client = await secretChecks.run(ticket, () => clients.authenticate(clientId, secret))
    } catch (error) {
      attempt.settle('unchecked')
      throw error
    }
    attempt.settle(client ? 'succeeded' : 'failed')
    // One answer for unknown id and wrong secret: which ids exist is nobody's business.
    if (!client) throw new InvalidClientError('Client authentication failed')
    request.client = client
  })
}

function presentedCredentials (request: FastifyRequest): { clientId: string, secret: string } {
  const fields = (request.body ?? {}) as ClientCredentialFields
  const header = request.headers.authorization
  if (header !== undefined) {
    if (fields.client_secret !== undefined) throw new InvalidRequestError('Use one client authentication method: client_secret_basic or client_secret_post, not both')
    const basic = decodeBasic(header)
    if (fields.client_id !== undefined && fields.client_id !== basic.clientId) throw new InvalidRequestError('The client_id parameter differs from the client authenticated by the Authorization header')
    return basic
  }
  if (fields.client_id === undefined && fields.client_secret === undefined) {
    throw new InvalidClientError('Authenticate the client with HTTP Basic (client_secret_basic) or client_id and client_secret (client_secret_post)')
  }
  if (fields.client_id === undefined) throw new InvalidRequestError('The client_id parameter is missing')
  if (fields.client_secret === undefined) throw new InvalidClientError('Client authentication failed: this server has no public clients, send client_secret')
  return { clientId: fields.client_id, secret: fields.client_secret }
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
function decodeBasic (header: string): { clientId: string, secret: string } {
  const match = BASIC.exec(header)
  if (!match) throw new InvalidClientError('The Authorization header must use the Basic scheme with the client id and secret')
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw new InvalidClientError('The Basic credentials must be client_id:client_secret')
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) }
  } catch {
    throw new InvalidClientError('The Basic credentials are not form-urlencoded')
  }
}

function formDecode (value: string): string {
  return decodeURIComponent(value.replaceAll('+', ' '))
}

export default fp(clientAuthentication, { name: 'mock-auth-client-authentication', fastify: '5.x' })
