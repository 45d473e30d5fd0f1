/**
 * Generated hostile requests for every route of the records API (fast-check). Each request
 * starts as a valid one and gets one to three mutations, each of which on its own makes the
 * request invalid — so the API must refuse every one of them with a 4xx problem and write
 * nothing. The suites run them through inject() (hostile-input.test.ts, more cases in
 * hostile-input.resilience.ts) and through the gateway of a started stack, over real sockets
 * (hostile-gateway.test.ts).
 */
import fc from 'fast-check'
import { SignJWT, generateKeyPair } from 'jose'
import type { Test } from 'tap'
import { serverFields } from '../../../shared/records/vocabulary.ts'
import type { Store } from '../../../shared/store/client.ts'
import { aRecord, buildHardenedApi, problemViolation, settledStore, snapshotTable, type HardenedApi } from '../resilience/harness.ts'

export type RouteName = 'create' | 'get' | 'list' | 'update' | 'delete' | 'history' | 'unrouted'

/** A request under construction; `path` and `query` are already percent-encoded. */
export interface Draft {
  route: RouteName
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT' | 'OPTIONS'
  path: string
  query: string[]
  headers: Record<string, string | undefined>
  body?: { json: Record<string, unknown> } | { raw: string | Buffer }
  mutations: string[]
}

/** Live data and tokens the generated requests refer to (made before the table snapshot). */
export interface HostileContext {
  recordId: string
  otherRecordId: string
  etag: string
  listCursor: string
  historyCursor: string
  tokens: {
    valid: string
    reader: string
    writerOnly: string
    otherTenant: string
    invalid: string[]
  }
}

type Mutation = fc.Arbitrary<{ name: string, apply: (draft: Draft) => void }>
const mutation = <T>(name: string, values: fc.Arbitrary<T>, apply: (draft: Draft, value: T) => void): Mutation =>
  values.map((value) => ({ name, apply: (draft: Draft) => apply(draft, value) }))

// ---------------------------------------------------------------- values

const notAString = fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }))
const notAnObject = fc.oneof(fc.integer(), fc.boolean(), fc.string({ maxLength: 10 }), fc.array(fc.integer(), { maxLength: 3 }))
const notAnArray = fc.oneof(fc.integer(), fc.boolean(), fc.string({ maxLength: 10 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }))
const longString = (min: number, max: number) => fc.integer({ min, max }).map((length) => 'x'.repeat(length))
const notIn = (allowed: readonly string[]) => fc.string({ maxLength: 20 }).filter((value) => !allowed.includes(value))
const blank = fc.constantFrom('', ' ', '\t', '   ')
const tooMany = <T>(item: fc.Arbitrary<T>, max: number) => fc.uniqueArray(item, { minLength: max + 1, maxLength: max + 10 })
const validTag = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/)

/** For each writable field: values its schema or the model must refuse (never `null`: PATCH allows it for optional fields). */
const invalidFieldValues: Record<string, fc.Arbitrary<unknown>> = {
  title: fc.oneof(notAString, blank, longString(301, 2000)),
  description: fc.oneof(notAString, longString(20_001, 25_000)),
  category: fc.oneof(notAString, notIn(['vulnerability', 'misconfiguration', 'secret_exposure', 'malware', 'incident', 'compliance', 'other'])),
  severity: fc.oneof(notAString, notIn(['critical', 'high', 'medium', 'low', 'info'])),
  status: fc.oneof(notAString, notIn(['open', 'triaged', 'in_progress', 'resolved', 'false_positive', 'not_affected', 'accepted_risk', 'duplicate'])),
  cvss: fc.oneof(notAnObject, fc.constant({}), fc.record({ vector: fc.oneof(notAString, fc.constantFrom('CVSS:3.1/garbage', 'CVSS:9.9/AV:N', 'AV:N/AC:L', '')) }), fc.constant({ vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 10 })),
  statusReason: fc.oneof(notAString, fc.constant(''), longString(2001, 3000)),
  duplicateOf: fc.oneof(notAString, fc.uuid({ version: 4 }), fc.string({ maxLength: 40 })),
  riskAcceptance: fc.oneof(notAnObject, fc.record({ expiresAt: fc.constantFrom('tomorrow', '2020-13-45', ''), approvedBy: fc.constant('ciso') }), fc.constant({ expiresAt: '2030-01-01T00:00:00Z', approvedBy: 'ciso', extra: true })),
  asset: fc.oneof(notAnObject, fc.record({ name: fc.oneof(blank, longString(201, 400), notAString), type: fc.constant('service') }), fc.record({ name: fc.constant('x'), type: notIn(['service', 'host', 'container_image', 'repository', 'package', 'cloud_resource', 'network', 'application', 'other']) }),
    fc.constant({ name: 'x', type: 'service', environment: 'prod' }), fc.constant({ name: 'x', type: 'service', purl: 'not-a-purl' }), fc.constant({ name: 'x', type: 'service', owner: 'me' })),
  vulnerabilityIds: fc.oneof(notAnArray, fc.constant(['CVE-24-1']), fc.constant(['CVE-2024-3094', 'CVE-2024-3094']), tooMany(fc.integer({ min: 1000, max: 99_999 }).map((n) => `CVE-2024-${n}`), 50)),
  cweIds: fc.oneof(notAnArray, fc.constantFrom(['CWE-0'], ['cwe-79'], ['CWE-79', 'CWE-79']), tooMany(fc.integer({ min: 1, max: 99_999 }).map((n) => `CWE-${n}`), 20)),
  references: fc.oneof(notAnArray, fc.constantFrom(['ftp://example.com'], ['javascript:alert(1)'], ['not a url'], ['https://a.example', 'https://a.example']), tooMany(fc.integer({ min: 1, max: 1_000_000 }).map((n) => `https://example.com/${n}`), 50)),
  tags: fc.oneof(notAnArray, fc.constantFrom(['UPPER'], ['-x'], ['a b'], ['x'.repeat(64)], ['dup', 'dup']), tooMany(validTag, 20)),
  assignee: fc.oneof(notAString, fc.constant(''), longString(201, 400)),
  fingerprint: fc.oneof(notAString, fc.constant(''), longString(257, 400)),
  source: fc.oneof(notAnObject, fc.constant({}), fc.constant({ tool: '' }), fc.constant({ tool: 'trivy', extra: 1 }))
}
const writableFields = Object.keys(invalidFieldValues)

const knownQueryParameters = ['status', 'severity', 'category', 'asset', 'tag', 'vulnerabilityId', 'overdue', 'limit', 'cursor', 'order']
const badPercent = fc.constantFrom('%', '%z', '%zz', '%C3%28', '%FF', '%E0%80%80', '%ED%A0%80', '%C0%AF', '%%', '%2', '%G0')
const oddNames = fc.constantFrom('__proto__', 'constructor', 'prototype', '__proto__[admin]', 'constructor[prototype][admin]', 'toString', 'hasOwnProperty', 'tenant', 'pk', 'limit[]', 'status[]', 'filter', '$where')

/** Nested arrays and objects, `depth` deep, as JSON text (JSON.stringify would overflow the stack). */
function nestedJson (depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

function bodyText (draft: Draft): string {
  if (!draft.body) return '{}'
  if ('json' in draft.body) return JSON.stringify(draft.body.json)
  return Buffer.isBuffer(draft.body.raw) ? draft.body.raw.toString('latin1') : draft.body.raw
}

/** Puts raw JSON text in place of one field's value (or adds the field). */
function withRawField (draft: Draft, field: string, rawValue: string): void {
  const json = draft.body && 'json' in draft.body ? { ...draft.body.json } : {}
  delete json[field]
  const rest = JSON.stringify(json)
  draft.body = { raw: rest === '{}' ? `{${JSON.stringify(field)}:${rawValue}}` : `${rest.slice(0, -1)},${JSON.stringify(field)}:${rawValue}}` }
}

function setField (draft: Draft, path: string[], value: unknown): void {
  const json = structuredClone(draft.body && 'json' in draft.body ? draft.body.json : {})
  let target = json as Record<string, unknown>
  for (const segment of path.slice(0, -1)) {
    if (typeof target[segment] !== 'object' || target[segment] === null || Array.isArray(target[segment])) target[segment] = {}
    target = target[segment] as Record<string, unknown>
  }
  target[path[path.length - 1]!] = value
  draft.body = { json }
}

// ---------------------------------------------------------------- mutations

function authMutations (context: HostileContext, route: RouteName): Mutation[] {
  const invalid = [...context.tokens.invalid]
  const forbidden: string[] = []
  if (route === 'create' || route === 'update' || route === 'delete') forbidden.push(context.tokens.reader)
  if (route === 'delete') forbidden.push(context.tokens.writerOnly)
  // Another tenant's caller does not see record A: 404, exactly like an unknown id.
  if (route === 'get' || route === 'update' || route === 'delete' || route === 'history') forbidden.push(context.tokens.otherTenant)
  return [
    mutation('auth:missing', fc.constant(null), (draft) => { delete draft.headers.authorization }),
    mutation('auth:invalid', fc.constantFrom(...invalid), (draft, value) => { draft.headers.authorization = value }),
    mutation('auth:garbage', fc.string({ maxLength: 200 }).map((value) => `Bearer ${value.replace(/[^\x20-\x7e]/g, '')}x`), (draft, value) => { draft.headers.authorization = value }),
    ...(forbidden.length > 0 ? [mutation('auth:not-allowed', fc.constantFrom(...forbidden), (draft, value) => { draft.headers.authorization = value })] : [])
  ]
}

function idMutations (context: HostileContext, route: RouteName): Mutation[] {
  const suffix = route === 'history' ? '/history' : ''
  const setId = (draft: Draft, id: string) => { draft.path = `/v1/records/${id}${suffix}` }
  return [
    mutation('id:malformed', fc.oneof(
      fc.uuid({ version: 4 }),
      fc.constant(context.recordId.toUpperCase()),
      fc.constant(`${context.recordId}a`),
      fc.constant(context.recordId.slice(0, -1)),
      fc.string({ minLength: 1, maxLength: 60 }).map(encodeURIComponent),
      fc.constantFrom('%00', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'null', 'undefined', '__proto__', 'constructor', '1%20OR%201%3D1', '%7B%22%24ne%22%3Anull%7D')
    ), setId),
    mutation('id:bad-percent-encoding', badPercent, setId),
    mutation('id:too-long', longString(201, 600), setId),
    mutation('id:unknown', fc.uuid({ version: 7 }).filter((id) => id !== context.recordId && id !== context.otherRecordId), setId)
  ]
}

function bodyMutations (route: 'create' | 'update'): Mutation[] {
  const contentTypes = ['text/plain', 'application/xml', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/json-patch+json', 'application/octet-stream', 'json', 'application/x-json']
  if (route === 'create') contentTypes.push('application/merge-patch+json')
  const mutations: Mutation[] = [
    mutation('body:wrong-value', fc.constantFrom(...writableFields).chain((field) => invalidFieldValues[field]!.map((value) => [field, value] as const)), (draft, [field, value]) => setField(draft, [field], value)),
    mutation('body:unknown-field', fc.tuple(fc.string({ minLength: 1, maxLength: 20 }).filter((name) => !writableFields.includes(name) && name !== '__proto__'), fc.jsonValue({ maxDepth: 2 })), (draft, [name, value]) => setField(draft, [name], value)),
    mutation('body:unknown-nested-field', fc.constantFrom('asset', 'source', 'cvss', 'riskAcceptance'), (draft, field) => setField(draft, [field, 'injected'], true)),
    mutation('body:read-only-field', fc.tuple(fc.constantFrom(...serverFields), fc.jsonValue({ maxDepth: 1 })), (draft, [name, value]) => setField(draft, [name], value)),
    mutation('body:prototype-poisoning', fc.constantFrom('"__proto__":{"isAdmin":true}', '"constructor":{"prototype":{"isAdmin":true}}', '"asset":{"name":"x","type":"service","__proto__":{"x":1}}'), (draft, member) => {
      const text = bodyText(draft).replace(/\s*}\s*$/, '')
      draft.body = { raw: `${text}${text.endsWith('{') ? '' : ','}${member}}` }
    }),
    mutation('body:huge-string', fc.oneof(fc.tuple(fc.constant('title'), fc.integer({ min: 301, max: 60_000 })), fc.tuple(fc.constant('description'), fc.integer({ min: 20_001, max: 200_000 }))), (draft, [field, length]) => setField(draft, [field], 'A'.repeat(length))),
    mutation('body:over-limit', fc.integer({ min: 256 * 1024 + 1, max: 600 * 1024 }), (draft, length) => setField(draft, ['description'], 'B'.repeat(length))),
    mutation('body:deep-nesting', fc.tuple(fc.constantFrom(...writableFields), fc.integer({ min: 20, max: 5000 }), fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>), (draft, [field, depth, kind]) => withRawField(draft, field, nestedJson(depth, kind))),
    mutation('body:invalid-utf8', fc.tuple(fc.constantFrom([0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]), fc.constantFrom('title', 'assignee', 'fingerprint')), (draft, [bytes, field]) => {
      const marker = '\u0001MARK\u0001'
      setField(draft, [field], `before${marker}after`)
      const [head, tail] = bodyText(draft).split(JSON.stringify(marker).slice(1, -1))
      draft.body = { raw: Buffer.concat([Buffer.from(head!, 'utf8'), Buffer.from(bytes), Buffer.from(tail!, 'utf8')]) }
    }),
    mutation('body:invalid-json', fc.oneof(
      fc.nat().map((cut) => ({ kind: 'truncate', cut })),
      fc.constantFrom('', 'NaN', 'undefined', "{'title':'x'}", '{"title":"x",}', '{"title":"x"}}', '{"title" "x"}', '[1,2', '"\\u12"', '{"a":01}', '\u0000')
        .map((text) => ({ kind: 'replace', text })),
      fc.string({ maxLength: 40 }).filter((text) => { try { JSON.parse(text); return false } catch { return true } }).map((text) => ({ kind: 'replace', text }))
    ), (draft, change) => {
      const text = bodyText(draft)
      draft.body = { raw: change.kind === 'truncate' ? text.slice(0, Math.min(text.length - 1, (change as { cut: number }).cut % text.length)) : (change as { text: string }).text }
    }),
    mutation('body:not-an-object', fc.constantFrom('null', '[]', '1', '"record"', 'true', '[{"title":"x"}]'), (draft, text) => { draft.body = { raw: text } }),
    mutation('content-type', fc.oneof(fc.constantFrom(...contentTypes), fc.constant(undefined)), (draft, type) => { draft.headers['content-type'] = type })
  ]
  if (route === 'create') {
    mutations.push(
      mutation('body:missing-required', fc.constantFrom(['title'], ['category'], ['asset'], ['asset', 'name'], ['asset', 'type'], ['severity']), (draft, path) => {
        const json = structuredClone(draft.body && 'json' in draft.body ? draft.body.json : aRecord())
        if (path.length === 1) delete json[path[0]!]
        else if (json.asset && typeof json.asset === 'object') delete (json.asset as Record<string, unknown>)[path[1]!]
        draft.body = { json }
      }),
      mutation('body:null-field', fc.constantFrom(...writableFields), (draft, field) => setField(draft, [field], null)),
      mutation('header:idempotency-key-too-long', fc.integer({ min: 256, max: 2000 }), (draft, length) => { draft.headers['idempotency-key'] = 'k'.repeat(length) })
    )
  } else {
    mutations.push(
      mutation('body:empty-patch', fc.constant(null), (draft) => { draft.body = { json: {} } }),
      mutation('body:remove-required', fc.constantFrom('title', 'category', 'status', 'asset'), (draft, field) => setField(draft, [field], null)),
      mutation('header:if-match', fc.oneof(fc.constant(undefined), fc.constantFrom('*', '"1"', 'W/"2"', '"999"', 'garbage', '""', '"2', '2'), longString(1025, 3000)), (draft, value) => { draft.headers['if-match'] = value })
    )
  }
  return mutations
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Spellings of a cursor that Node's lenient base64url decoder reads as the same bytes (percent-encoded for a query). */
function nonCanonicalSpellings (cursor: string): string[] {
  const last = BASE64URL_ALPHABET.indexOf(cursor.at(-1)!)
  // A 43-character signature leaves the last character's 2 low bits unused: flip them.
  const sibling = BASE64URL_ALPHABET[(last & ~3) | ((last + 1) & 3)]!
  const spellings = [`${cursor.slice(0, -1)}${sibling}`, `${cursor}%3D`, `${cursor.replace('.', '%3D.')}`]
  if (/[-_]/.test(cursor)) spellings.push(cursor.replaceAll('-', '%2B').replaceAll('_', '%2F'))
  return spellings
}

function queryMutations (context: HostileContext, route: 'list' | 'history'): Mutation[] {
  const allowed = route === 'list' ? knownQueryParameters : ['limit', 'cursor']
  const duplicable = route === 'list'
    ? ['status=open', 'severity=high', 'category=other', 'asset=payments-api', 'tag=supply-chain', 'vulnerabilityId=CVE-2024-3094', 'overdue=true', 'limit=5', 'order=asc', `cursor=${context.listCursor}`]
    : ['limit=5', `cursor=${context.historyCursor}`]
  const ownCursor = route === 'list' ? context.listCursor : context.historyCursor
  const foreignCursor = route === 'list' ? context.historyCursor : context.listCursor
  const mutations: Mutation[] = [
    mutation('query:bad-limit', fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 101 }), fc.constantFrom('1.5', 'abc', '', 'Infinity', 'true', 'null', '1,2', '%5B%5D', '-')), (draft, value) => { draft.query.push(`limit=${value}`) }),
    mutation('query:unknown-parameter', fc.tuple(fc.oneof(oddNames, fc.stringMatching(/^[a-zA-Z_]{1,12}$/).filter((name) => !allowed.includes(name))), fc.string({ maxLength: 10 })), (draft, [name, value]) => { draft.query.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`) }),
    mutation('query:duplicated-parameter', fc.constantFrom(...duplicable), (draft, pair) => { draft.query.push(pair, pair) }),
    mutation('query:bad-percent-encoding', fc.tuple(badPercent, fc.boolean()), (draft, [junk, inName]) => { draft.query.push(inName ? `li${junk}mit=5` : `limit=5${junk}`) }),
    mutation('query:bad-cursor', fc.oneof(
      fc.string({ minLength: 1, maxLength: 200 }).map(encodeURIComponent),
      fc.nat().map((position) => {
        // One character of a genuine cursor changed: the signature no longer matches.
        const index = position % ownCursor.length
        const replacement = ownCursor[index] === 'A' ? 'B' : 'A'
        return `${ownCursor.slice(0, index)}${replacement}${ownCursor.slice(index + 1)}`
      }),
      fc.constant(foreignCursor),
      // The same bytes spelled differently: still an altered cursor.
      fc.constantFrom(...nonCanonicalSpellings(ownCursor)),
      fc.constant(ownCursor.slice(0, -3)),
      fc.constant(`${ownCursor}.extra`),
      longString(2049, 3000)
    ), (draft, cursor) => { draft.query.push(`cursor=${cursor}`) })
  ]
  if (route === 'list') {
    mutations.push(
      mutation('query:bad-filter', fc.constantFrom('status=bogus', 'status=open,', 'status=,open', 'severity=urgent', 'severity=critical,,high', 'category=x', 'order=sideways', 'overdue=maybe', 'tag=UPPER', `vulnerabilityId=${'V'.repeat(101)}`, 'asset=', `asset=${'a'.repeat(201)}`), (draft, pair) => { draft.query.push(pair) }),
      // A genuine cursor sent with other filters than the page it came from.
      mutation('query:cursor-other-filters', fc.constantFrom('status=triaged', 'severity=low', 'order=asc', 'category=malware'), (draft, pair) => { draft.query.push(pair, `cursor=${context.listCursor}`) }),
      mutation('query:huge-value', fc.integer({ min: 201, max: 6000 }), (draft, length) => { draft.query.push(`asset=${'a'.repeat(length)}`) })
    )
  } else {
    mutations.push(mutation('query:list-filter-on-history', fc.constantFrom('status=open', 'order=asc', 'severity=high'), (draft, pair) => { draft.query.push(pair) }))
  }
  return mutations
}

// ---------------------------------------------------------------- requests

function base (context: HostileContext, route: RouteName): Draft {
  const headers: Record<string, string | undefined> = { authorization: context.tokens.valid }
  const a = `/v1/records/${context.recordId}`
  switch (route) {
    case 'create': return { route, method: 'POST', path: '/v1/records', query: [], headers: { ...headers, 'content-type': 'application/json' }, body: { json: aRecord({ fingerprint: 'hostile-input' }) }, mutations: [] }
    case 'get': return { route, method: 'GET', path: a, query: [], headers, mutations: [] }
    case 'list': return { route, method: 'GET', path: '/v1/records', query: [], headers, mutations: [] }
    case 'update': return { route, method: 'PATCH', path: a, query: [], headers: { ...headers, 'content-type': 'application/merge-patch+json', 'if-match': context.etag }, body: { json: { title: 'changed by a hostile request', assignee: 'mallory' } }, mutations: [] }
    case 'delete': return { route, method: 'DELETE', path: a, query: [], headers: { ...headers, 'if-match': context.etag }, mutations: [] }
    case 'history': return { route, method: 'GET', path: `${a}/history`, query: [], headers, mutations: [] }
    case 'unrouted': return { route, method: 'GET', path: '/v1/records', query: [], headers, mutations: [] }
  }
}

function routeArbitrary (context: HostileContext, route: Exclude<RouteName, 'unrouted'>): fc.Arbitrary<Draft> {
  const mutations: Mutation[] = []
  if (route !== 'create' && route !== 'list') mutations.push(...idMutations(context, route))
  if (route === 'create' || route === 'update') mutations.push(...bodyMutations(route))
  if (route === 'list' || route === 'history') mutations.push(...queryMutations(context, route))
  if (route === 'delete') {
    mutations.push(mutation('header:if-match', fc.oneof(fc.constantFrom('"1"', 'W/"2"', '"999"', 'garbage', '""', '*x'), longString(1025, 3000)), (draft, value) => { draft.headers['if-match'] = value }))
  }
  // Token problems are answered before anything else is looked at: one pick in five is enough.
  const any = fc.oneof({ arbitrary: fc.oneof(...authMutations(context, route)), weight: 1 }, { arbitrary: fc.oneof(...mutations), weight: 4 })
  return fc.array(any, { minLength: 1, maxLength: 3 }).map((chosen) => {
    const draft = base(context, route)
    for (const { name, apply } of chosen) {
      apply(draft)
      draft.mutations.push(name)
    }
    return draft
  })
}

function unroutedArbitrary (context: HostileContext): fc.Arbitrary<Draft> {
  const a = `/v1/records/${context.recordId}`
  return fc.constantFrom<Array<[Draft['method'], string]>>(
    ['PUT', a], ['POST', a], ['DELETE', '/v1/records'], ['PATCH', '/v1/records'], ['PUT', '/v1/records'], ['GET', '/v1/record'],
    ['GET', `${a}/history/1`], ['GET', `${a}/`], ['GET', '/v2/records'], ['OPTIONS', '/v1/records'], ['GET', '/v1/records/../../etc/passwd'],
    ['GET', '/.env'], ['GET', '/v1/records//history'], ['POST', '/healthz']
  ).map(([method, path]) => ({ ...base(context, 'unrouted'), method, path, mutations: ['route:unknown'] }))
}

/** Any hostile request, for any route. */
export function hostileRequest (context: HostileContext): fc.Arbitrary<Draft> {
  return fc.oneof(
    routeArbitrary(context, 'create'),
    routeArbitrary(context, 'get'),
    routeArbitrary(context, 'list'),
    routeArbitrary(context, 'update'),
    routeArbitrary(context, 'delete'),
    routeArbitrary(context, 'history'),
    { arbitrary: unroutedArbitrary(context), weight: 1 }
  )
}

export function toInject (draft: Draft) {
  const headers = Object.fromEntries(Object.entries(draft.headers).filter((entry): entry is [string, string] => entry[1] !== undefined))
  const payload = draft.body === undefined ? undefined : 'json' in draft.body ? JSON.stringify(draft.body.json) : draft.body.raw
  return { method: draft.method, url: `${draft.path}${draft.query.length > 0 ? `?${draft.query.join('&')}` : ''}`, headers, ...(payload === undefined ? {} : { payload }) }
}

// ---------------------------------------------------------------- set-up and run

export type HostileRequest = ReturnType<typeof toInject>
export interface HostileAnswer { statusCode: number, headers: Record<string, unknown>, body: string }

/** Where the requests go: an app through inject(), or a started stack's gateway over sockets. */
export interface HostileTarget {
  send (request: HostileRequest): Promise<HostileAnswer>
  /** `Authorization` value with a token the API trusts; claims can be changed or removed (undefined). */
  bearer (claims?: Partial<Record<string, unknown>>): Promise<string>
  /** A token signed with that key, with any claims and header. */
  sign (claims: Partial<Record<string, unknown>>, header: Record<string, unknown>): Promise<string>
  /** The `kid` of that key. */
  kid: string
  /** The store behind the API, to prove nothing was written. */
  store: Store
}

/** A hardened app, through inject(). */
export function injectTarget (api: HardenedApi): HostileTarget {
  return {
    async send (request) {
      const response = await api.app.inject(request)
      return { statusCode: response.statusCode, headers: response.headers, body: response.body }
    },
    bearer: (claims) => api.bearer(claims),
    sign: (claims, header) => api.keys.sign(claims, header),
    kid: (api.keys.jwks.keys[0] as { kid: string }).kid,
    store: api.store
  }
}

async function sendJson (target: HostileTarget, request: HostileRequest, expected: number): Promise<Record<string, unknown> & { headers: Record<string, unknown> }> {
  const response = await target.send(request)
  if (response.statusCode !== expected) throw new Error(`set-up ${request.method} ${request.url}: ${response.statusCode} ${response.body}`)
  return { ...JSON.parse(response.body) as Record<string, unknown>, headers: response.headers }
}

/** Records A (version 2, two history entries) and B, a cursor of each kind, and tokens of every flavour. */
export async function prepareHostileContext (target: HostileTarget): Promise<HostileContext> {
  const valid = await target.bearer()
  const create = (title: string) => sendJson(target, { method: 'POST', url: '/v1/records', headers: { authorization: valid, 'content-type': 'application/json' }, payload: JSON.stringify(aRecord({ title })) }, 201)
  const a = await create('record A')
  const b = await create('record B')
  const patched = await sendJson(target, { method: 'PATCH', url: `/v1/records/${String(a.id)}`, headers: { authorization: valid, 'if-match': String(a.headers.etag), 'content-type': 'application/merge-patch+json' }, payload: '{"status":"triaged"}' }, 200)
  const listPage = await sendJson(target, { method: 'GET', url: '/v1/records?limit=1', headers: { authorization: valid } }, 200)
  const historyPage = await sendJson(target, { method: 'GET', url: `/v1/records/${String(a.id)}/history?limit=1`, headers: { authorization: valid } }, 200)
  if (typeof listPage.nextCursor !== 'string' || typeof historyPage.nextCursor !== 'string') throw new Error('set-up: expected a next page of records and of history')

  const { privateKey: strangerKey } = await generateKeyPair('ES256')
  const now = Math.floor(Date.now() / 1000)
  const kid = target.kid
  const validToken = valid.slice('Bearer '.length)
  const [header, payload, signature] = validToken.split('.') as [string, string, string]
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
  const invalid = [
    'Basic bG9jYWwtYWRtaW46bG9jYWwtYWRtaW4tc2VjcmV0',
    'Bearer',
    'Bearer ',
    `Bearer ${validToken} ${validToken}`,
    `Bearer ${validToken},${validToken}`,
    `Bearer ${header}.${payload}.${signature.slice(0, -4)}AAAA`,
    `Bearer ${header}.${encode({ ...claims, tenant: 'other' })}.${signature}`,
    `Bearer ${header}.${encode({ ...claims, scope: 'records:read records:write records:delete admin' })}.${signature}`,
    `Bearer ${encode({ alg: 'none', typ: 'at+jwt' })}.${payload}.`,
    `Bearer ${encode({ alg: 'HS256', typ: 'at+jwt', kid })}.${payload}.${signature}`,
    `Bearer ${'A'.repeat(8000)}`,
    await target.bearer({ exp: now - 3600, iat: now - 7200 }),
    await target.bearer({ aud: 'urn:example:other-api' }),
    await target.bearer({ iss: 'https://evil.example' }),
    await target.bearer({ tenant: undefined }),
    await target.bearer({ tenant: '../other' }),
    await target.bearer({ client_id: undefined }),
    `Bearer ${await target.sign({}, { typ: 'JWT' })}`,
    `Bearer ${await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(strangerKey)}`
  ]
  return {
    recordId: String(a.id),
    otherRecordId: String(b.id),
    etag: String(patched.headers.etag),
    listCursor: listPage.nextCursor,
    historyCursor: historyPage.nextCursor,
    tokens: {
      valid,
      reader: await target.bearer({ scope: 'records:read' }),
      writerOnly: await target.bearer({ scope: 'records:read records:write' }),
      otherTenant: await target.bearer({ tenant: 'other' }),
      invalid
    }
  }
}

export interface HostileRunReport {
  requests: number
  serverErrors: number
  /** Answers that were not a complete 4xx problem+json (the run stops at the first). */
  violations: number
  byStatus: Record<number, number>
  byRoute: Record<string, number>
  slowestMs: number
}

/** Answer time allowed per request: generous, because other suites share the machine (the answers take milliseconds). */
export const ANSWER_TIME_LIMIT_MS = 5000

/**
 * Runs `numRuns` generated hostile requests (seeded) and asserts for each: a 4xx problem+json
 * with every RFC 9457 member, answered within ANSWER_TIME_LIMIT_MS. Around the run: the stored
 * data is byte-for-byte unchanged and the app still serves a good request.
 */
export async function runHostileRequests (t: Test, { seed, numRuns, target: given }: { seed: number, numRuns: number, target?: HostileTarget }): Promise<HostileRunReport> {
  const target = given ?? injectTarget(await buildHardenedApi(t))
  const context = await prepareHostileContext(target)
  await settledStore(target.store)
  await settledStore(target.store)
  const before = await snapshotTable(target.store)
  const report: HostileRunReport = { requests: 0, serverErrors: 0, violations: 0, byStatus: {}, byRoute: {}, slowestMs: 0 }

  await fc.assert(fc.asyncProperty(hostileRequest(context), async (draft) => {
    const started = performance.now()
    const response = await target.send(toInject(draft))
    const elapsed = performance.now() - started
    report.requests++
    if (response.statusCode >= 500) report.serverErrors++
    report.byStatus[response.statusCode] = (report.byStatus[response.statusCode] ?? 0) + 1
    report.byRoute[draft.route] = (report.byRoute[draft.route] ?? 0) + 1
    report.slowestMs = Math.max(report.slowestMs, elapsed)
    const violation = problemViolation(response.statusCode, response.headers, response.body)
    if (violation) report.violations++
    if (violation) throw new Error(`${draft.method} ${draft.path} [${draft.mutations.join(', ')}]: ${violation}: ${response.body.slice(0, 300)}`)
    if (elapsed > ANSWER_TIME_LIMIT_MS) throw new Error(`${draft.method} ${draft.path} [${draft.mutations.join(', ')}] took ${Math.round(elapsed)} ms`)
  }), { seed, numRuns, endOnFailure: true })

  t.same(await snapshotTable(target.store), before, 'the stored data is unchanged')
  const health = await target.send({ method: 'GET', url: '/healthz', headers: {} })
  t.equal(health.statusCode, 200, 'the app is still healthy')
  const stillServes = await target.send({ method: 'GET', url: `/v1/records/${context.recordId}`, headers: { authorization: context.tokens.valid } })
  t.equal(stillServes.statusCode, 200, 'and still serves a good request')
  t.equal(report.serverErrors, 0, 'no 5xx')
  t.comment(`hostile requests: ${report.requests} (seed ${seed}), 5xx: ${report.serverErrors}, not problem+json: ${report.violations}, slowest ${report.slowestMs.toFixed(1)} ms`)
  t.comment(`by status: ${JSON.stringify(report.byStatus)}; by route: ${JSON.stringify(report.byRoute)}`)
  return report
}
