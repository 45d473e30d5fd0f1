import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { send } from '../shared/outbound.ts'

/** How long the broker gives a subscriber to take an event: a refused or late one is redelivered by the sweeper. */
const DELIVERY_TIMEOUT_MS = 5000
const BODY_LIMIT_BYTES = 1024 * 1024

export interface Subscriber {
  url: string
  /** The OIDC identity its Trigger delivers with (`sub`, `aud`), as Knative Eventing's `authentication-oidc`. */
  identity?: { subject: string, audience: string }
  /** The event types its Trigger's filter lets through (`ce-type`); every type when left out. */
  types?: readonly string[]
}

export interface LocalBroker {
  /** Where record functions deliver (their K_SINK). */
  url: string
  /** The issuer and key set of the delivery tokens, for the subscribers' sender check. */
  issuer: string
  jwksUrl: string
  subscribe (subscriber: Subscriber): void
  close (): Promise<void>
}

/**
 * The local stand-in for the Knative broker and its Triggers: takes each CloudEvent the functions
 * deliver to K_SINK (binary mode) and delivers it to every subscriber whose filter takes its type, each with a delivery token of
 * its Trigger's identity (signed by a key of this process, published at `jwksUrl`), as the
 * cluster's broker does. It answers 202 only when every subscriber took the event; otherwise 502,
 * and the record function leaves the event in its outbox for the sweeper to deliver again.
 * Listens on loopback only: nothing outside the stack reaches it.
 */
export async function startLocalBroker (): Promise<LocalBroker> {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = { ...await exportJWK(publicKey), kid: 'local-broker', alg: 'ES256', use: 'sig' }
  const subscribers: Subscriber[] = []
  let issuer = ''

  const token = async ({ subject, audience }: NonNullable<Subscriber['identity']>) =>
    await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' }).setIssuer(issuer).setSubject(subject).setAudience(audience).setIssuedAt().setExpirationTime('5m').sign(privateKey)

  async function fanOut (headers: IncomingHttpHeaders, body: Buffer): Promise<boolean> {
    const forwarded = Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('ce-') || name === 'content-type').map(([name, value]) => [name, String(value)]))
    const type = String(headers['ce-type'])
    const answers = await Promise.all(subscribers.filter(({ types }) => !types || types.includes(type)).map(async (subscriber) => {
      try {
        const authorization: Record<string, string> = subscriber.identity ? { authorization: `Bearer ${await token(subscriber.identity)}` } : {}
        const response = await send(subscriber.url, { method: 'POST', headers: { ...forwarded, ...authorization }, body: body.toString('utf8'), timeoutMs: DELIVERY_TIMEOUT_MS })
        return response.status >= 200 && response.status < 300
      } catch {
        return false
      }
    }))
    return answers.every(Boolean)
  }

  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/jwks') {
      response.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: [jwk] }))
      return
    }
    if (request.method !== 'POST' || request.url !== '/') {
      response.writeHead(404).end()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    request.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > BODY_LIMIT_BYTES) request.destroy()
      else chunks.push(chunk)
    })
    request.on('end', () => {
      fanOut(request.headers, Buffer.concat(chunks)).then(
        (delivered) => response.writeHead(delivered ? 202 : 502).end(),
        () => response.writeHead(502).end()
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  issuer = url
  return {
    url: `${url}/`,
    issuer,
    jwksUrl: `${url}/jwks`,
    subscribe (subscriber) { subscribers.push(subscriber) },
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}
