import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { InvalidJsonError, UnsupportedMediaTypeError, type FieldError } from '../errors.ts'

/**
 * Request bodies as strict JSON: RFC 8259 read as I-JSON (RFC 7493). JSON.parse
 * alone accepts duplicate member names (the last one wins, so a reviewer and the server can read
 * different documents), `\u0000` and lone surrogates (`\ud800`), which I-JSON forbids and which
 * would otherwise reach the store; and Fastify ignores a `charset` parameter. Here each of them is
 * refused: 400 for the body, 415 for a charset other than UTF-8 (RFC 8259 §8.1).
 *
 * Cost: one native JSON.parse, one walk of the parsed value (strings checked with the native
 * `isWellFormed`), and one scan of the text that only counts member names — the text is
 * tokenized in full only when the counts disagree, to name the duplicate.
 */
export function parseStrictJson (text: string): unknown {
  if (text.length === 0) throw new InvalidJsonError('The body is empty; send a JSON value')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // JSON.parse's message quotes the body: never echoed.
    throw new InvalidJsonError('The body is not valid JSON')
  }
  let members: number
  try {
    members = checkValue(value, 0)
  } catch (error) {
    if (error === TOO_DEEP) throw new InvalidJsonError(`The body nests deeper than ${MAX_NESTING} levels`)
    if (error === VIOLATION) throw locateViolation(value)!
    throw error
  }
  if (members !== countMemberNames(text)) throw duplicateMember(text)
  return value
}

/** Refuses a `charset` parameter other than UTF-8 (case-insensitive, quoted or not); none means UTF-8. */
export function checkJsonCharset (contentType: string | undefined): void {
  if (contentType === undefined) return
  for (const parameter of contentType.split(';').slice(1)) {
    const separator = parameter.indexOf('=')
    if (separator === -1 || parameter.slice(0, separator).trim().toLowerCase() !== 'charset') continue
    const charset = parameter.slice(separator + 1).trim().replace(/^"(.*)"$/, '$1')
    if (charset.toLowerCase() !== 'utf-8') {
      throw new UnsupportedMediaTypeError(`JSON bodies are UTF-8 (RFC 8259 §8.1); charset=${charset.slice(0, 40).replace(/[^\x21-\x7e]/g, '?')} is not accepted`)
    }
  }
}

/** A Fastify body parser for a JSON media type: charset checked, body parsed strictly. */
export function strictJsonBodyParser (request: FastifyRequest, body: string): Promise<unknown> {
  checkJsonCharset(request.headers['content-type'])
  return Promise.resolve(parseStrictJson(body))
}

/** Registers the strict parser for a JSON media type (`application/merge-patch+json`, `application/cloudevents+json`). */
export function addStrictJsonParser (app: FastifyInstance, mediaType: string): void {
  app.addContentTypeParser(mediaType, { parseAs: 'string' }, strictJsonBodyParser)
}

/** `application/json` of every function parsed strictly (replaces Fastify's parser). */
const strictJsonBodies: FastifyPluginAsync = async (app) => {
  app.removeContentTypeParser('application/json')
  addStrictJsonParser(app, 'application/json')
}

export default fp(strictJsonBodies, { name: 'security-records-strict-json', fastify: '5.x' })

/**
 * Checks every string and member name of a parsed value and returns how many members its objects
 * have in all. Also refuses what Fastify's parser refused: `__proto__` members and
 * `constructor.prototype` (prototype poisoning of code that merges the body into an object).
 * Paths are not built here (that would cost more than the parse); a refusal walks again for its path.
 */
const VIOLATION = Symbol('strict JSON violation')

/**
 * Deepest nesting of objects and arrays accepted: a record is a few levels deep, and the walks
 * below recurse once per level (a body nested thousands deep must be a 400, not a stack overflow).
 */
const MAX_NESTING = 64
const TOO_DEEP = Symbol('too deep')

function checkValue (value: unknown, depth: number): number {
  if (typeof value === 'string') {
    if (!acceptableString(value)) throw VIOLATION
    return 0
  }
  if (value === null || typeof value !== 'object') return 0
  if (depth >= MAX_NESTING) throw TOO_DEEP
  let members = 0
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) members += checkValue(value[index], depth + 1)
    return members
  }
  for (const name in value) {
    const member = (value as Record<string, unknown>)[name]
    if (!acceptableString(name) || isPrototypePoisoning(name, member)) throw VIOLATION
    members += 1 + checkValue(member, depth + 1)
  }
  return members
}

function acceptableString (text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed()
}

function isPrototypePoisoning (name: string, member: unknown): boolean {
  return name === '__proto__' || (name === 'constructor' && typeof member === 'object' && member !== null && Object.hasOwn(member, 'prototype'))
}

/** The slow path of a refusal: the first offending string or member name, with its JSON Pointer. */
function locateViolation (value: unknown, path = ''): Error | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return invalidJson('NUL characters (U+0000) are not accepted (I-JSON, RFC 7493 §2.1)', path)
    if (!value.isWellFormed()) return invalidJson('Lone surrogates are not accepted: every string must be valid Unicode (I-JSON, RFC 7493 §2.1)', path)
    return undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  for (const [name, member] of Object.entries(value)) {
    const memberPath = `${path}/${pointerToken(name)}`
    const violation = locateViolation(name, memberPath) ??
      (isPrototypePoisoning(name, member) ? invalidJson('The body contains a forbidden prototype property', memberPath) : locateViolation(member, memberPath))
    if (violation) return violation
  }
  return undefined
}

/**
 * Counts the member names in the text of a valid JSON document: strings followed by a colon.
 * Strings are skipped with indexOf, so the structural characters between them are all it reads.
 */
function countMemberNames (text: string): number {
  let count = 0
  let quote = text.indexOf('"')
  while (quote !== -1) {
    const end = closingQuote(text, quote)
    let next = end + 1
    while (isJsonWhitespace(text.charCodeAt(next))) next++
    if (text.charCodeAt(next) === COLON) count++
    quote = text.indexOf('"', next)
  }
  return count
}

/**
 * The slow path, only for a body known to repeat a member name: tokenizes it (it is valid JSON)
 * keeping each open object's names, to say which name repeats where.
 */
function duplicateMember (text: string): Error {
  type Frame = { kind: 'object', path: string, names: Set<string>, name: string } | { kind: 'array', path: string, index: number }
  const frames: Frame[] = []
  const here = (): string => {
    const top = frames.at(-1)
    if (top === undefined) return ''
    return `${top.path}/${top.kind === 'object' ? pointerToken(top.name) : top.index}`
  }
  for (let index = 0; index < text.length; index++) {
    const character = text[index]
    const top = frames.at(-1)
    if (character === '"') {
      const end = closingQuote(text, index)
      let next = end + 1
      while (isJsonWhitespace(text.charCodeAt(next))) next++
      if (top?.kind === 'object' && text.charCodeAt(next) === COLON) {
        const name = JSON.parse(text.slice(index, end + 1)) as string
        if (top.names.has(name)) {
          return invalidJson(`Duplicate member name ${JSON.stringify(name.slice(0, 100))}: a name may appear once per object (I-JSON, RFC 7493 §2.3)`, `${top.path}/${pointerToken(name)}`)
        }
        top.names.add(name)
        top.name = name
      }
      index = end
    } else if (character === '{') {
      frames.push({ kind: 'object', path: here(), names: new Set(), name: '' })
    } else if (character === '[') {
      frames.push({ kind: 'array', path: here(), index: 0 })
    } else if (character === '}' || character === ']') {
      frames.pop()
    } else if (character === ',' && top?.kind === 'array') {
      top.index++
    }
  }
  return invalidJson('Duplicate member name: a name may appear once per object (I-JSON, RFC 7493 §2.3)', '')
}

const COLON = 58

function isJsonWhitespace (code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9
}

/** The index of the quote closing the string that opens at `open` (a quote preceded by an odd run of backslashes is escaped). */
function closingQuote (text: string, open: number): number {
  let end = text.indexOf('"', open + 1)
  while (end !== -1) {
    let backslashes = 0
    while (text.charCodeAt(end - 1 - backslashes) === 92) backslashes++
    if (backslashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
  return text.length
}

/** RFC 6901: `~` and `/` escaped in a JSON Pointer token. */
function pointerToken (name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1')
}

function invalidJson (message: string, path: string): Error & { errors: FieldError[] } {
  return Object.assign(new InvalidJsonError(message), { errors: [{ path, message }] })
}
