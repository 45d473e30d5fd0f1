import formbody from '@fastify/formbody'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { SafeHtml } from '../../shared/html/html.ts'
import { S256_CHALLENGE, type AuthorizationCodes } from './authorization-codes.ts'
import type { RegisteredClient } from './clients.ts'
import { oauthPaths } from './endpoints.ts'
import type { GuessingThrottle } from './guessing-throttle.ts'
import { errorPage, loginPage } from './login-page.ts'
import { noStore } from './oauth-errors.ts'
import type { SecretCheckQueue } from './secret-check-queue.ts'
import { scopesOfRoles, type UserDirectory } from './users.ts'

export interface AuthorizeRouteOptions {
  clients: ReadonlyMap<string, RegisteredClient>
  users: UserDirectory
  codes: AuthorizationCodes
  clientAddress: (request: FastifyRequest) => string
  /** The same throttle as client authentication: a password is a secret guessed alike. */
  throttle: GuessingThrottle
  secretChecks: SecretCheckQueue
  bodyLimit: number
}

/** The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3), each sent once. */
const REQUEST_PARAMETERS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'] as const
type RequestParameters = Partial<Record<typeof REQUEST_PARAMETERS[number], string>>
const MAX_PARAMETER_LENGTH = 2000
/** What a user-agent may be answered with: a page or a redirect, both never cached. */
type Answer = { page: SafeHtml, status: number } | { redirect: string }

/**
 * The authorization endpoint (RFC 6749 §4.1): GET shows the sign-in form for a valid request,
 * POST checks the person's password and sends them back to the client's redirect URI with a
 * one-time code. A request whose client or redirect URI cannot be trusted is answered here,
 * never redirected (RFC 9700 §4.11: no open redirector).
 */
const authorizeRoute: FastifyPluginAsync<AuthorizeRouteOptions> = async (app, options) => {
  const { issuer } = app.authorizationServer
  const formAction = oauthPaths.authorization
  await app.register(formbody, { bodyLimit: options.bodyLimit })

  app.get(oauthPaths.authorization, async (request, reply) => {
    const checked = checkRequest(request.query)
    if ('answer' in checked) return send(reply, checked.answer)
    return send(reply, { status: 200, page: loginPage({ action: formAction, parameters: checked.parameters, clientId: checked.client.client_id }) }, checked.redirectUri)
  })

  app.post(oauthPaths.authorization, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const checked = checkRequest(body)
    if ('answer' in checked) return send(reply, checked.answer)
    const username = typeof body.username === 'string' ? body.username.slice(0, 64) : ''
    const password = typeof body.password === 'string' ? body.password : ''
    const retry = (status: number, error: string) => send(reply, { status, page: loginPage({ action: formAction, parameters: checked.parameters, clientId: checked.client.client_id, username, error }) }, checked.redirectUri)
    if (!username || !password || password.length > 512) return retry(400, 'Enter your username and password.')

    const address = options.clientAddress(request)
    let attempt
    try {
      attempt = options.throttle.admit(`user:${username}`, address)
    } catch (error) {
      const seconds = (error as { retryAfterSeconds?: number }).retryAfterSeconds
      if (seconds !== undefined) reply.header('retry-after', String(seconds))
      return retry(429, `Too many failed sign-ins. Try again in ${seconds ?? 60} seconds.`)
    }
    let user
    try {
      const ticket = { trusted: attempt.trusted, key: attempt.trusted ? `user:${username}` : address }
      user = await options.secretChecks.run(ticket, () => options.users.authenticate(username, password))
    } catch (error) {
      attempt.settle('unchecked')
      throw error
    }
    attempt.settle(user ? 'succeeded' : 'failed')
    if (!user) return retry(401, 'Wrong username or password.')

    const scopes = grantedScopes(checked.client, scopesOfRoles(user.roles), checked.parameters.scope)
    if (scopes.length === 0) return send(reply, { redirect: responseUrl(checked.redirectUri, { error: 'invalid_scope', error_description: 'You may not use any of the requested scopes', state: checked.parameters.state, iss: issuer }) })
    const code = await options.codes.issue({
      clientId: checked.client.client_id,
      redirectUri: checked.redirectUri,
      codeChallenge: checked.parameters.code_challenge!,
      user: { username: user.username, name: user.name, tenant: user.tenant },
      scopes
    })
    request.log.info({ clientId: checked.client.client_id, username: user.username }, 'signed in')
    return send(reply, { redirect: responseUrl(checked.redirectUri, { code, state: checked.parameters.state, iss: issuer }) })
  })

  /**
   * RFC 6749 §4.1.2.1: with an unknown client or a redirect URI not registered exactly, the
   * person is told here; every other error goes to the redirect URI with `state` and `iss`.
   */
  function checkRequest (source: unknown): { answer: Answer } | { client: RegisteredClient, redirectUri: string, parameters: RequestParameters } {
    const input = (source ?? {}) as Record<string, unknown>
    const parameters: RequestParameters = {}
    const repeated: string[] = []
    for (const name of REQUEST_PARAMETERS) {
      const value = input[name]
      if (value === undefined) continue
      if (typeof value !== 'string' || value.length > MAX_PARAMETER_LENGTH) repeated.push(name)
      else parameters[name] = value
    }
    const client = parameters.client_id === undefined ? undefined : options.clients.get(parameters.client_id)
    if (!client || !client.redirect_uris) return { answer: { status: 400, page: errorPage('The application that sent you here is not registered for signing in people. Go back and try again from the application.') } }
    // Exact string comparison (RFC 9700 §2.1): no prefix, pattern or normalisation.
    const redirectUri = parameters.redirect_uri
    if (redirectUri === undefined || !client.redirect_uris.includes(redirectUri)) return { answer: { status: 400, page: errorPage('The address to return to is not one this application registered. Go back and try again from the application.') } }
    const fail = (error: string, description: string) => ({ answer: { redirect: responseUrl(redirectUri, { error, error_description: description, state: parameters.state, iss: issuer }) } })
    if (repeated.length > 0) return fail('invalid_request', `The ${repeated[0]} parameter must be sent once, at most ${MAX_PARAMETER_LENGTH} characters`)
    if (parameters.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported')
    if (parameters.code_challenge === undefined) return fail('invalid_request', 'PKCE is required: send code_challenge and code_challenge_method=S256')
    if (parameters.code_challenge_method !== 'S256') return fail('invalid_request', 'Only the S256 code challenge method is supported')
    if (!S256_CHALLENGE.test(parameters.code_challenge)) return fail('invalid_request', 'The code_challenge must be the base64url SHA-256 of the code verifier (43 characters)')
    const unknown = (parameters.scope ?? '').split(' ').filter((scope) => scope && !(client.scopes as string[]).includes(scope))
    if (unknown.length > 0) return fail('invalid_scope', `This client may not request the scope ${unknown.join(' ')}`)
    return { client, redirectUri, parameters }
  }

  /** The login page may post only to itself and hand over only to the client's redirect URI. */
  function send (reply: FastifyReply, answer: Answer, redirectUri?: string) {
    noStore(reply)
    if ('redirect' in answer) return reply.code(303).header('location', answer.redirect).send()
    const formTargets = ["'self'", ...(redirectUri ? [new URL(redirectUri).origin] : [])].join(' ')
    return reply.code(answer.status)
      .header('content-security-policy', `default-src 'none'; form-action ${formTargets}; frame-ancestors 'none'; base-uri 'none'`)
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8')
      .send(answer.page.value)
  }
}

/** The person's scopes the client may have, narrowed to those asked for (all of them when none are). */
function grantedScopes (client: RegisteredClient, personScopes: string[], requested: string | undefined): string[] {
  const asked = new Set((requested ?? '').split(' ').filter(Boolean))
  return personScopes.filter((scope) => (client.scopes as string[]).includes(scope) && (asked.size === 0 || asked.has(scope)))
}

/** The redirect URI with the response parameters added to its query (RFC 6749 §4.1.2). */
function responseUrl (redirectUri: string, parameters: Record<string, string | undefined>): string {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) url.searchParams.append(name, value)
  return url.href
}

export default authorizeRoute
