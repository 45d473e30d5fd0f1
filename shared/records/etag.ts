import { PreconditionRequiredError } from '../errors.ts'

/** Strong entity tag of a record version. */
export function etagOf (record: { version: number }): string {
  return `"${record.version}"`
}

/**
 * Parses If-Match / If-None-Match into the record versions it names (RFC 9110 §13.1).
 * Weak tags never match If-Match (strong comparison); `*` is reported separately.
 */
export function parseEntityTags (header: string): { any: boolean, versions: number[] } {
  if (header.trim() === '*') return { any: true, versions: [] }
  const versions: number[] = []
  for (const raw of header.split(',')) {
    const match = /^\s*(W\/)?"(\d{1,15})"\s*$/.exec(raw)
    if (match && !match[1]) versions.push(Number(match[2]))
  }
  return { any: false, versions }
}

/**
 * The versions a conditional write accepts. `If-Match: *` is refused: it would let a client
 * overwrite changes it never saw, which is exactly what If-Match is here to prevent.
 */
export function acceptedVersions (ifMatch: string | undefined): number[] {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    throw new PreconditionRequiredError('This request needs an If-Match header with the record\'s current ETag')
  }
  const { any, versions } = parseEntityTags(ifMatch)
  if (any) throw new PreconditionRequiredError('If-Match: * is not accepted; send the record\'s current ETag')
  return versions
}

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2): W/"3" matches version 3, `*` matches any. */
export function matchesIfNoneMatch (header: string, record: { version: number }): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etagOf(record))
}
