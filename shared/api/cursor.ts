import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { InvalidCursorError } from '../errors.ts'

/**
 * Opaque list cursors: the position to resume after, bound to the tenant and the exact filters
 * it was issued for, signed with HMAC-SHA256. Anything altered or replayed with other filters
 * is refused before the store is touched.
 */
export interface CursorCodec {
  encode (position: string, binding: unknown): string
  decode (cursor: string, binding: unknown): string
}

const BASE64URL = /^[A-Za-z0-9_-]+$/

/**
 * Decodes unpadded base64url (RFC 4648 §5) only in its one canonical spelling. Node's decoder
 * also takes padding, the `+/` alphabet and non-zero trailing bits, so several strings decode to
 * the same signature; a cursor is one exact string, and any other spelling of it is altered.
 */
function strictBase64url (text: string): Buffer {
  const bytes = Buffer.from(text, 'base64url')
  if (!BASE64URL.test(text) || bytes.toString('base64url') !== text) throw new InvalidCursorError('The cursor is not canonical base64url')
  return bytes
}

/** A function without list routes (ingest-finding) has no secret; asking it for a cursor is a bug. */
export function createCursorCodec (secret: string | undefined): CursorCodec {
  if (secret === undefined) {
    const missing = () => { throw new Error('list cursors need CURSOR_SECRET') }
    return { encode: missing, decode: missing }
  }
  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest()
  const bind = (binding: unknown) => createHash('sha256').update(JSON.stringify(binding)).digest('base64url').slice(0, 22)

  return {
    encode (position, binding) {
      const payload = Buffer.from(JSON.stringify({ v: 1, p: position, b: bind(binding) })).toString('base64url')
      return `${payload}.${sign(payload).toString('base64url')}`
    },
    decode (cursor, binding) {
      const [payload, signature, extra] = cursor.split('.')
      if (!payload || !signature || extra !== undefined) throw new InvalidCursorError('The cursor is malformed')
      const expected = sign(payload)
      const given = strictBase64url(signature)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new InvalidCursorError('The cursor was altered or was not issued by this service')
      }
      const decoded = JSON.parse(strictBase64url(payload).toString('utf8')) as { v?: number, p?: unknown, b?: unknown }
      if (decoded.v !== 1 || typeof decoded.p !== 'string') throw new InvalidCursorError('The cursor is malformed')
      if (decoded.b !== bind(binding)) {
        throw new InvalidCursorError('The cursor belongs to a different query; send the same filters and order as the request that returned it')
      }
      return decoded.p
    }
  }
}
