import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import type { DestinationStream } from 'pino'
import { ConfigError } from '../../shared/config.ts'
import { createBaseApp, DEFAULT_REQUEST_TIMEOUT_MS, loggerOptions, type BaseApp } from '../../shared/http/base-app.ts'
import { isLoopbackIssuer } from '../mock-auth/local-clients.ts'
import { ISSUER_PATTERN } from '../mock-auth/endpoints.ts'
import { consolePaths } from './endpoints.ts'
import { createOAuthClient } from './oauth-client.ts'
import pageRoutes from './page-routes.ts'
import { createRecordsClient } from './records-client.ts'
import { createCookieSealer } from './session.ts'
import sessionPlugin from './session-plugin.ts'
import signInRoutes from './sign-in-routes.ts'
import writeRoutes from './write-routes.ts'

export interface ConsoleAppOptions {
  /** The origin people open the console at; its redirect URI is `<origin>/console/callback`. */
  origin: string
  /** Where the records API is reached with the person's token. */
  apiUrl: string
  issuer: string
  /** Where the token and revocation endpoints are reached (default: the issuer). */
  authUrl?: string
  clientId: string
  clientSecret: string
  /** 32 bytes: the key of the encrypted cookies. */
  cookieKey: Uint8Array
  logger?: { level: string, stream?: DestinationStream } | false
  requestTimeoutMs?: number
  now?: () => Date
}

/** The largest report the import page forwards (the API takes more, gzip-compressed). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024

/**
 * Strict: scripts, styles and images from this origin only, nothing inline, no frames, forms
 * posted only here. The sign-in link leaves by navigation, which form-action does not govern.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/**
 * The console: a backend-for-frontend that signs people in with the authorization code grant,
 * keeps their token in an encrypted cookie (never in page script), and renders the pages
 * server-side from the records API, called with the person's token.
 */
export async function buildConsoleApp (options: ConsoleAppOptions): Promise<BaseApp> {
  for (const [name, value] of [['origin', options.origin], ['apiUrl', options.apiUrl], ['issuer', options.issuer], ['authUrl', options.authUrl ?? options.issuer]] as const) {
    if (!new RegExp(ISSUER_PATTERN).test(value)) throw new ConfigError(`console: ${name} must be an origin like https://records.example.com (got ${value})`)
  }
  // Cookies go without Secure only where nothing leaves the machine.
  const secure = options.origin.startsWith('https://')
  if (!secure && !isLoopbackIssuer(options.origin)) throw new ConfigError(`console: the origin ${options.origin} is plain http and not a loopback address; serve the console over https`)
  const app = await createBaseApp({
    logger: options.logger === false ? false : loggerOptions(options.logger?.level ?? 'info', options.logger?.stream),
    bodyLimit: MAX_UPLOAD_BYTES + 64 * 1024,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    headers: { 'content-security-policy': CONSOLE_CSP, 'referrer-policy': 'same-origin' }
  })
  await app.register(cookie)
  await app.register(formbody, { bodyLimit: 64 * 1024 })
  await app.register(multipart, { limits: { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: 10, fieldSize: 1024, parts: 12 } })
  const sealer = createCookieSealer(options.cookieKey, options.now)
  const oauth = createOAuthClient({ issuer: options.issuer, serverUrl: options.authUrl ?? options.issuer, clientId: options.clientId, clientSecret: options.clientSecret, redirectUri: `${options.origin}${consolePaths.callback}` })
  await app.register(sessionPlugin, { sealer, secure, origin: options.origin, ...(options.now ? { now: options.now } : {}) })
  await app.register(signInRoutes, { oauth, issuer: options.issuer, origin: options.origin })
  const callApi = createRecordsClient(options.apiUrl)
  await app.register(pageRoutes, { callApi })
  await app.register(writeRoutes, { callApi })
  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }))
  return app
}
