import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { consolePaths } from './endpoints.ts'
import { layout } from './pages/layout.ts'
import { problemPage } from './pages/other-pages.ts'
import type { CookieSealer, Session, SignInTransaction } from './session.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in person, from the session cookie; undefined when there is none we accept. */
    session: Session | undefined
  }
  interface FastifyInstance {
    consoleSession: ConsoleSessions
  }
}

/** How the routes set, read and clear the console's two cookies. */
export interface ConsoleSessions {
  sealer: CookieSealer
  now: () => Date
  setSession (reply: FastifyReply, session: Session): Promise<void>
  setSignIn (reply: FastifyReply, transaction: SignInTransaction): Promise<void>
  readSignIn (request: FastifyRequest): Promise<SignInTransaction | undefined>
  clear (reply: FastifyReply): void
  /** Sends a person without a live session to sign in, coming back where they were. */
  signInAgain (request: FastifyRequest, reply: FastifyReply, message?: string): FastifyReply
  /** An HTML page with the console's frame. */
  page (reply: FastifyReply, status: number, html: string): FastifyReply
}

/** A sign-in has this long from the click to the callback. */
const SIGN_IN_SECONDS = 600

/** Where a sign-in may return to: a path of the console, never another origin (no open redirect). */
export function safeReturnPath (candidate: unknown, origin: string): string {
  if (typeof candidate !== 'string' || candidate.length > 2000 || !candidate.startsWith('/console') || candidate.includes('\\')) return consolePaths.overview
  try {
    const url = new URL(candidate, origin)
    if (url.origin !== origin || !(url.pathname === consolePaths.overview || url.pathname.startsWith(`${consolePaths.overview}/`))) return consolePaths.overview
    if (url.pathname.startsWith('/console/signin') || url.pathname.startsWith('/console/callback')) return consolePaths.overview
    return `${url.pathname}${url.search}`
  } catch {
    return consolePaths.overview
  }
}

/**
 * Sessions in encrypted cookies, and the Origin check: every state-changing request must come
 * from the console's own origin (SameSite=Strict already keeps the cookie off cross-site requests;
 * this stands even where a browser ignores it).
 */
export default fp<{ sealer: CookieSealer, secure: boolean, origin: string, now?: () => Date }>(async (app, { sealer, secure, origin, now = () => new Date() }) => {
  const names = secure ? { session: '__Host-console', signIn: '__Host-console-signin' } : { session: 'console', signIn: 'console-signin' }
  const base = { path: '/', httpOnly: true, secure } as const

  const sessions: ConsoleSessions = {
    sealer,
    now,
    async setSession (reply, session) {
      reply.setCookie(names.session, await sealer.seal('session', session, session.expiresAt), { ...base, sameSite: 'strict', expires: new Date(session.expiresAt * 1000) })
    },
    async setSignIn (reply, transaction) {
      const expiresAt = Math.floor(now().getTime() / 1000) + SIGN_IN_SECONDS
      // Lax: it must come back on the top-level navigation from the authorization server.
      reply.setCookie(names.signIn, await sealer.seal('signIn', transaction, expiresAt), { ...base, sameSite: 'lax', maxAge: SIGN_IN_SECONDS })
    },
    async readSignIn (request) {
      return sealer.open<SignInTransaction>('signIn', request.cookies[names.signIn])
    },
    clear (reply) {
      reply.clearCookie(names.session, { ...base, sameSite: 'strict' })
      reply.clearCookie(names.signIn, { ...base, sameSite: 'lax' })
    },
    signInAgain (request, reply, message) {
      sessions.clear(reply)
      if (request.method !== 'GET') return sessions.page(reply, 401, layout({ title: 'Signed out' }, problemPage('Your session has ended', message ?? 'Sign in again; your change was not saved.')))
      return reply.code(303).header('location', `${consolePaths.signIn}?return=${encodeURIComponent(safeReturnPath(request.url, origin))}`).send()
    },
    page (reply, status, html) {
      return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html)
    }
  }
  app.decorate('consoleSession', sessions)
  app.decorateRequest('session', undefined)

  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.headers.origin !== origin) {
      request.log.warn({ origin: request.headers.origin ?? null }, 'state-changing request from another origin refused')
      return sessions.page(reply, 403, layout({ title: 'Refused' }, problemPage('Refused', 'This request did not come from the console\'s own pages, so nothing was changed.')))
    }
    const session = await sealer.open<Session>('session', request.cookies[names.session])
    if (session && session.expiresAt * 1000 > now().getTime()) request.session = session
  })
}, { name: 'console-sessions', fastify: '5.x', dependencies: ['@fastify/cookie'] })
