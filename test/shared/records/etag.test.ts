import t from 'tap'
import { PreconditionRequiredError } from '../../../shared/errors.ts'
import { etagOf, expectedVersion, matchesIfNoneMatch } from '../../../shared/records/etag.ts'

t.test('a record version\'s entity tag is strong: the version in quotes', async (t) => {
  t.equal(etagOf({ version: 1 }), '"1"')
  t.equal(etagOf({ version: 42 }), '"42"')
})

t.test('If-Match naming one of our tags gives its version, surrounding spaces ignored', async (t) => {
  t.equal(expectedVersion('"3"'), 3)
  t.equal(expectedVersion('  "17"\t'), 17)
  t.equal(expectedVersion(etagOf({ version: 999_999_999_999_999 })), 999_999_999_999_999, 'the longest version a tag can carry')
})

t.test('a missing, empty or `*` If-Match is a 428 that says what to send', async (t) => {
  for (const header of [undefined, '', '   ', '*', ' * ']) {
    t.throws(() => expectedVersion(header), PreconditionRequiredError, JSON.stringify(header))
  }
  t.throws(() => expectedVersion(undefined), { statusCode: 428, message: /If-Match header with the record's current ETag/ })
  t.throws(() => expectedVersion('*'), { statusCode: 428, message: /If-Match: \* is not accepted/ })
})

t.test('anything but exactly one of our strong tags matches no version (a 412 that carries the current tag)', async (t) => {
  const never = [
    'W/"3"', // weak: If-Match compares strongly
    '"3", "4"', // a list once acted like `*`
    '"3",', // a list with an empty member
    '3', // no quotes
    '"3', // unterminated
    '"abc"', // a tag this API never issued
    '"-1"',
    '"3.0"',
    '"1234567890123456"', // longer than any version we issue
    '""',
    'garbage'
  ]
  for (const header of never) t.equal(expectedVersion(header), undefined, header)
})

t.test('If-None-Match compares weakly: W/"3" and "3" match version 3, `*` matches any, lists match any member', async (t) => {
  const record = { version: 3 }
  t.ok(matchesIfNoneMatch('"3"', record))
  t.ok(matchesIfNoneMatch('W/"3"', record))
  t.ok(matchesIfNoneMatch(' * ', record))
  t.ok(matchesIfNoneMatch('"1", W/"3" ,"9"', record))
  t.notOk(matchesIfNoneMatch('"4"', record))
  t.notOk(matchesIfNoneMatch('W/"30"', record))
  t.notOk(matchesIfNoneMatch('3', record), 'an unquoted version is no tag')
  t.notOk(matchesIfNoneMatch('', record))
})
