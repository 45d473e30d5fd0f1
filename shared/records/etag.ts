import { PreconditionRequiredError } from '../errors.ts'

/** Strong entity tag of a record version. */
export function etagOf (record: { version: number }): string {
  return `"${record.version}"`
}

const OUR_TAG = /^"(\d{1,15})"$/

/**
 * The one record version a conditional write names in If-Match. Exactly one of our entity tags,
 * because If-Match is how a writer proves it saw what it changes: `*` is a 428 (it would let a
 * writer overwrite versions it never read), and anything else never matches, like a stale tag
 * (`undefined`, so the write is a 412 that carries the current ETag): a list of tags (which once
 * acted like `*`), a weak tag (strong comparison, RFC 9110 §13.1.1), a tag this API never issued,
 * or a value that is no entity tag at all. A 412 rather than a 400 for the malformed ones: the
 * answer then tells the client the one tag that would match.
 */
export function expectedVersion (ifMatch: string | undefined): number | undefined {
  const header = ifMatch?.trim() ?? ''
  if (header === '') throw new PreconditionRequiredError('This request needs an If-Match header with the record\'s current ETag')
  if (header === '*') throw new PreconditionRequiredError('If-Match: * is not accepted; send the record\'s current ETag')
  const ours = OUR_TAG.exec(header)
  return ours ? Number(ours[1]) : undefined
}

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2): W/"3" matches version 3, `*` matches any. */
export function matchesIfNoneMatch (header: string, record: { version: number }): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etagOf(record))
}
