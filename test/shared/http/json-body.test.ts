import t from 'tap'
import { InvalidJsonError, UnsupportedMediaTypeError } from '../../../shared/errors.ts'
import { checkJsonCharset, parseStrictJson } from '../../../shared/http/json-body.ts'

/** The `errors` entry a strict-JSON refusal names. */
function refusal (text: string): { path: string, message: string } {
  try {
    parseStrictJson(text)
  } catch (error) {
    if (!(error instanceof InvalidJsonError)) throw error
    return (error as unknown as { errors: Array<{ path: string, message: string }> }).errors[0]!
  }
  throw new Error(`accepted: ${text}`)
}

t.test('valid JSON parses exactly as JSON.parse does, whatever the strings hold', async (t) => {
  const documents = [
    '{"title":"x","asset":{"name":"a","type":"service"},"tags":["a","b"]}',
    '{"a":"{\\"a\\":1,\\"a\\":2}","b":"\\\\","c":"say \\"a\\": 1"}',
    '{"emoji":"\ud83d\udd12 \\ud83d\\udd12","escaped quote at end\\"":1}',
    '[{"a":1},{"a":1},[{"a":{"a":{"a":1}}}]]',
    '{ "a" : 1 , "b" :\n\t2 }',
    '"just a string"', '42', 'null', '{}', '[]'
  ]
  for (const text of documents) t.same(parseStrictJson(text), JSON.parse(text), text)
})

t.test('a member name repeated in one object is refused, naming the name and where it is', async (t) => {
  t.match(refusal('{"severity":"low","title":"x","severity":"critical"}'), { path: '/severity', message: /Duplicate member name "severity"/ })
  t.match(refusal('{"asset":{"name":"a","type":"service","name":"b"}}'), { path: '/asset/name' })
  t.match(refusal('{"items":[{"a":1},{"b":1,"b":2}]}'), { path: '/items/1/b' })
  t.match(refusal('{"a":1,"\\u0061":2}'), { path: '/a' }, 'an escaped spelling of the same name')
  t.match(refusal('{"a/b~":1 , "a/b~" :2}'), { path: '/a~1b~0' }, 'JSON Pointer escaping')
})

t.test('NUL characters and lone surrogates are refused in values and in member names', async (t) => {
  t.match(refusal('{"title":"a\\u0000b"}'), { path: '/title', message: /NUL/ })
  t.match(refusal('{"tags":["ok","\\ud800"]}'), { path: '/tags/1', message: /surrogate/ })
  t.match(refusal('{"title":"\\udc00x"}'), { path: '/title', message: /surrogate/ }, 'a low surrogate alone')
  t.match(refusal('{"title":"\\ud83d\\u0041"}'), { path: '/title', message: /surrogate/ }, 'a high surrogate followed by a non-surrogate')
  t.match(refusal('{"a\\u0000":1}'), { path: '/a\u0000', message: /NUL/ })
})

t.test('malformed, empty and prototype-poisoning bodies are refused without echoing the body', async (t) => {
  for (const text of ['', '{', '{"a":1,}', "{'a':1}", '{"a":1} {"b":2}', '{"a":"raw\u0001control"}']) {
    t.throws(() => parseStrictJson(text), InvalidJsonError, JSON.stringify(text))
  }
  t.throws(() => parseStrictJson('{"secret-looking-body":'), { message: 'The body is not valid JSON' })
  t.match(refusal('{"__proto__":{"isAdmin":true}}'), { path: '/__proto__', message: /prototype/ })
  t.match(refusal('{"a":{"constructor":{"prototype":{"isAdmin":true}}}}'), { path: '/a/constructor' })
})

t.test('charset: none or utf-8 (any case, quoted) is accepted; any other is a 415', async (t) => {
  for (const type of [undefined, 'application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/merge-patch+json; foo=bar']) {
    t.doesNotThrow(() => checkJsonCharset(type), String(type))
  }
  for (const type of ['application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=utf8', 'application/json; charset=""', 'application/json; foo=bar; Charset=ISO-8859-1']) {
    t.throws(() => checkJsonCharset(type), UnsupportedMediaTypeError, type)
  }
})

t.test('a body nested deeper than 64 levels is a 400 invalid-json, never a stack overflow', async (t) => {
  const deep = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`
  t.doesNotThrow(() => parseStrictJson(`{"a":${deep(60)}}`), '61 levels are fine')
  for (const levels of [65, 20_000, 200_000]) {
    t.throws(() => parseStrictJson(`{"source":${deep(levels)},"__proto__":{"isAdmin":true}}`), { code: 'SR_INVALID_JSON', message: /deeper than 64 levels/ }, `${levels} levels`)
  }
})
