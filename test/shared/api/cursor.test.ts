import t from 'tap'
import { InvalidCursorError } from '../../../shared/errors.ts'
import { createCursorCodec } from '../../../shared/api/cursor.ts'

const codec = createCursorCodec('a-cursor-secret-of-at-least-32-characters')
const binding = { tenant: 'acme', filters: { order: 'desc', status: ['open'] } }

t.test('a cursor decodes to the position it was issued for, under the same binding', async (t) => {
  const cursor = codec.encode('2026-01-01T00:00:00.000Z#0190b6a0', binding)
  t.match(cursor, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'opaque and URL-safe')
  t.equal(codec.decode(cursor, structuredClone(binding)), '2026-01-01T00:00:00.000Z#0190b6a0')
})

t.test('a cursor sent with other filters or by another tenant is refused', async (t) => {
  const cursor = codec.encode('p', binding)
  t.throws(() => codec.decode(cursor, { ...binding, tenant: 'other' }), InvalidCursorError)
  t.throws(() => codec.decode(cursor, { ...binding, filters: { order: 'asc', status: ['open'] } }), InvalidCursorError)
})

t.test('an altered payload, a signature from another key or a malformed cursor is refused', async (t) => {
  const cursor = codec.encode('p', binding)
  const [payload, signature] = cursor.split('.') as [string, string]
  const forged = Buffer.from(JSON.stringify({ v: 1, p: 'q', b: JSON.parse(Buffer.from(payload, 'base64url').toString()).b })).toString('base64url')
  t.throws(() => codec.decode(`${forged}.${signature}`, binding), InvalidCursorError, 'position changed')
  t.throws(() => createCursorCodec('another-secret-of-at-least-32-characters!').decode(cursor, binding), InvalidCursorError, 'other key')
  for (const malformed of ['', 'abc', `${cursor}.x`, `.${signature}`, `${payload}.`]) {
    t.throws(() => codec.decode(malformed, binding), InvalidCursorError, `malformed: ${JSON.stringify(malformed)}`)
  }
})

/** The other base64url character that decodes to the same bits when the last 2 (of a 43-character, 32-byte signature) are dropped. */
function sameBitsSibling (character: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const index = alphabet.indexOf(character)
  return alphabet[(index & ~3) | ((index + 1) & 3)]!
}

t.test('a cursor that is not canonical base64url is refused, even when it decodes to the right bytes', async (t) => {
  const cursor = codec.encode('p', binding)
  const [payload, signature] = cursor.split('.') as [string, string]
  const sibling = `${signature.slice(0, -1)}${sameBitsSibling(signature.at(-1)!)}`
  t.same(Buffer.from(sibling, 'base64url'), Buffer.from(signature, 'base64url'), 'the altered signature still decodes to the same bytes')
  t.throws(() => codec.decode(`${payload}.${sibling}`, binding), InvalidCursorError, 'last character changed (U↔X)')
  t.throws(() => codec.decode(`${payload}.${signature}=`, binding), InvalidCursorError, 'padding added to the signature')
  t.throws(() => codec.decode(`${payload}==.${signature}`, binding), InvalidCursorError, 'padding added to the payload')
  t.throws(() => codec.decode(`${payload}.${signature} `, binding), InvalidCursorError, 'a trailing space')
  // base64 (not base64url) spellings of the same bytes: '+' for '-', '/' for '_'.
  let withUrlCharacter = cursor
  for (let position = 0; !/[-_]/.test(withUrlCharacter); position++) withUrlCharacter = codec.encode(`p${position}`, binding)
  const standard = withUrlCharacter.replaceAll('-', '+').replaceAll('_', '/')
  t.throws(() => codec.decode(standard, binding), InvalidCursorError, `base64 alphabet: ${standard}`)
})

t.test('a function without a cursor secret refuses to make or read cursors', async (t) => {
  const none = createCursorCodec(undefined)
  t.throws(() => none.encode('p', binding), /CURSOR_SECRET/)
  t.throws(() => none.decode('a.b', binding), /CURSOR_SECRET/)
})
