import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CursorCodec } from './cursor.ts'

/** What a cursor is bound to: the tenant and everything that shapes the walk (filters, record id). */
export type CursorBinding = Record<string, unknown>

/** The position a request's `cursor` resumes after (undefined on the first page); 400 when altered or re-bound. */
export function resumePosition (cursors: CursorCodec, cursor: string | undefined, binding: CursorBinding): string | undefined {
  return cursor === undefined ? undefined : cursors.decode(cursor, binding)
}

/** Sends `{ items, nextCursor }` with RFC 8288 `Link: <…>; rel="next"` when there is a next page. */
export function sendPage<T> (request: FastifyRequest, reply: FastifyReply, cursors: CursorCodec, page: { items: T[], resumeAfter?: string }, binding: CursorBinding) {
  const nextCursor = page.resumeAfter === undefined ? null : cursors.encode(page.resumeAfter, binding)
  if (nextCursor) reply.header('link', nextPageLink(request.url, nextCursor))
  return reply.header('cache-control', 'no-store').send({ items: page.items, nextCursor })
}

/** RFC 8288 `Link: <…>; rel="next"` for the same request with the next cursor. */
export function nextPageLink (requestUrl: string, nextCursor: string): string {
  const url = new URL(requestUrl, 'http://placeholder')
  url.searchParams.set('cursor', nextCursor)
  return `<${url.pathname}${url.search}>; rel="next"`
}
