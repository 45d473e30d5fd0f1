import { createHash, randomBytes } from 'node:crypto'
import { decodeJwt } from 'jose'
import type { Session } from './session.ts'

export interface OAuthClientOptions {
  issuer: string
  /** Where the console reaches the token and revocation endpoints (default: the issuer). */
  serverUrl: string
  clientId: string
  clientSecret: string
  redirectUri: string
}

/** What went wrong talking to the authorization server, in words for the person. */
export class SignInError extends Error {}

/** The confidential client side of the authorization code grant with PKCE, run by the console (a BFF). */
export function createOAuthClient (options: OAuthClientOptions) {
  const basic = `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString('base64')}`
  const post = (path: string, parameters: Record<string, string>) => fetch(`${options.serverUrl}${path}`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(parameters),
    signal: AbortSignal.timeout(10_000)
  })

  return {
    /** A fresh authorization request: the URL to send the browser to, and what the callback must check. */
    start () {
      const state = randomBytes(24).toString('base64url')
      const verifier = randomBytes(48).toString('base64url')
      const challenge = createHash('sha256').update(verifier).digest('base64url')
      const url = new URL('/oauth2/authorize', options.issuer)
      url.search = new URLSearchParams({ response_type: 'code', client_id: options.clientId, redirect_uri: options.redirectUri, state, code_challenge: challenge, code_challenge_method: 'S256' }).toString()
      return { url: url.href, state, verifier }
    },

    /** Exchanges the code for the person's access token. */
    async redeem (code: string, verifier: string): Promise<Session> {
      const response = await post('/oauth2/token', { grant_type: 'authorization_code', code, redirect_uri: options.redirectUri, code_verifier: verifier })
      const body = await response.json().catch(() => ({})) as { access_token?: string, error?: string, error_description?: string }
      if (response.status !== 200 || typeof body.access_token !== 'string') throw new SignInError(`The sign-in could not be completed (${body.error_description ?? body.error ?? response.status}). Please sign in again.`)
      const claims = decodeJwt(body.access_token)
      return {
        accessToken: body.access_token,
        expiresAt: Number(claims.exp),
        sub: String(claims.sub),
        name: typeof claims.name === 'string' ? claims.name : String(claims.sub),
        tenant: String(claims.tenant),
        scopes: String(claims.scope ?? '').split(' ').filter(Boolean)
      }
    },

    /** RFC 7009: the token dies with the session, so a copy of the cookie is worth nothing after sign-out. */
    async revoke (token: string): Promise<void> {
      await post('/oauth2/revoke', { token, token_type_hint: 'access_token' })
    }
  }
}

export type OAuthClient = ReturnType<typeof createOAuthClient>

function formEncode (value: string): string {
  return encodeURIComponent(value).replaceAll('%20', '+')
}
