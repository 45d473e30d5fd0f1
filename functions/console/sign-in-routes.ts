import { timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import { consolePaths } from './endpoints.ts'
import { SignInError, type OAuthClient } from './oauth-client.ts'
import { layout } from './pages/layout.ts'
import { problemPage } from './pages/other-pages.ts'
import { safeReturnPath } from './session-plugin.ts'

/** Sign-in (the authorization code grant with PKCE, run here, server-side) and sign-out. */
const signInRoutes: FastifyPluginAsync<{ oauth: OAuthClient, issuer: string, origin: string }> = async (app, { oauth, issuer, origin }) => {
  const sessions = app.consoleSession
  const refuse = (reply: Parameters<typeof sessions.page>[0], sentence: string) =>
    sessions.page(reply, 400, layout({ title: 'Sign-in failed' }, problemPage('Sign-in failed', `${sentence} Start again from the sign-in link.`)))

  app.get(consolePaths.signIn, async (request, reply) => {
    const returnTo = safeReturnPath((request.query as Record<string, unknown>).return, origin)
    const { url, state, verifier } = oauth.start()
    await sessions.setSignIn(reply, { state, verifier, returnTo })
    return reply.code(303).header('cache-control', 'no-store').header('location', url).send()
  })

  app.get(consolePaths.callback, async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const transaction = await sessions.readSignIn(request)
    // The response must answer the request this browser started: same state, from our issuer (RFC 9207).
    if (!transaction || typeof query.state !== 'string' || !sameText(query.state, transaction.state)) return refuse(reply, 'This sign-in response does not belong to a sign-in started in this browser.')
    if (query.iss !== issuer) return refuse(reply, 'This sign-in response did not come from the expected authorization server.')
    if (typeof query.error === 'string') return refuse(reply, `The authorization server refused: ${typeof query.error_description === 'string' ? query.error_description.slice(0, 300) : query.error.slice(0, 64)}.`)
    if (typeof query.code !== 'string' || query.code.length > 4096) return refuse(reply, 'The sign-in response carries no code.')
    try {
      const session = await oauth.redeem(query.code, transaction.verifier)
      sessions.clear(reply)
      await sessions.setSession(reply, session)
      request.log.info({ sub: session.sub, tenant: session.tenant }, 'signed in')
      return reply.code(303).header('cache-control', 'no-store').header('location', transaction.returnTo).send()
    } catch (error) {
      if (error instanceof SignInError) return refuse(reply, error.message)
      throw error
    }
  })

  app.post(consolePaths.signOut, async (request, reply) => {
    if (request.session) {
      await oauth.revoke(request.session.accessToken).catch((error: unknown) => request.log.warn({ err: error }, 'token revocation failed at sign-out'))
      request.log.info({ sub: request.session.sub }, 'signed out')
    }
    sessions.clear(reply)
    return reply.code(303).header('location', `${consolePaths.overview}?signedOut=1`).send()
  })
}

function sameText (a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

export default signInRoutes
