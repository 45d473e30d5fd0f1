import { InvalidRequestError, PreconditionRequiredError } from '../errors.ts'

/** Strong entity tag of a record version. */
export function etagOf (record: { version: number }): string {
  return `"${record.version}"`
}

const OUR_TAG = /^"(\d{1,15})"$/
/** RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE. */
const ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/

/**
 * The one record version a conditional write names in If-Match. Exactly one entity tag, because
 * If-Match is how a writer proves it saw what it changes: `*` (428) and a list of tags (400)
 * would let it overwrite versions it never read. A weak tag never matches (strong comparison,
 * RFC 9110 §13.1.1), nor does a tag this API never issued: `undefined`, and the write fails
 * like a stale one (412).
 */
export function expectedVersion (ifMatch: string | undefined): number | undefined {
  const header = ifMatch?.trim() ?? ''
  if (header === '') throw new PreconditionRequiredError('This request needs an If-Match header with the record\'s current ETag')
  if (header === '*') throw new PreconditionRequiredError('If-Match: * is not accepted; send the record\'s current ETag')
  const ours = OUR_TAG.exec(header)
  if (ours) return Number(ours[1])
  if (ENTITY_TAG.test(header)) return undefined
  throw new InvalidRequestError(header.includes(',')
    ? 'If-Match names exactly one ETag, the one of the version you read; a list is not accepted'
    : 'If-Match is not an entity tag; send the ETag of the version you read, quotes included')
}

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2): W/"3" matches version 3, `*` matches any. */
export function matchesIfNoneMatch (header: string, record: { version: number }): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etagOf(record))
}
