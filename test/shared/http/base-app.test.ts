import Fastify from 'fastify'
import t from 'tap'
import { createBaseApp } from '../../../shared/http/base-app.ts'
import { createCursorCodec } from '../../../shared/api/cursor.ts'
import type { RouteDeps } from '../../../shared/api/route-deps.ts'
import { allRecordRoutes, TEST_CURSOR_SECRET } from '../../support/records-api.ts'

const build = () => createBaseApp({ logger: false, bodyLimit: 1024, requestTimeoutMs: 5_000 })

t.test('a response serializer is built when its status is first sent, not when the app starts', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  app.get('/thing', {
    schema: {
      response: {
        200: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: false },
        // fast-json-stringify cannot build this one (the reference leads nowhere): built at start,
        // it would stop the app; built on first use, it fails only the answer that needs it.
        409: { type: 'object', properties: { detail: { $ref: '#/definitions/nowhere' } } }
      }
    }
  }, async (request, reply) => request.query && (request.query as Record<string, string>).conflict
    ? reply.code(409).send({ detail: 'x' })
    : { name: 'a', tenant: 'internal' })
  await app.ready()

  const ok = await app.inject({ method: 'GET', url: '/thing' })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { name: 'a' }, 'the serializer still drops what the schema does not declare')
  const conflict = await app.inject({ method: 'GET', url: '/thing?conflict=1' })
  t.equal(conflict.statusCode, 500, 'the unbuildable serializer fails its own answer')
})

t.test('every response schema of every record route still builds (checked here, since apps build them on first use)', async (t) => {
  // Fastify's own factory builds every serializer at ready(): a schema it cannot build fails here.
  const app = Fastify()
  t.teardown(() => app.close())
  let responses = 0
  app.addHook('onRoute', (route) => { responses += Object.keys(route.schema?.response ?? {}).length })
  await app.register(allRecordRoutes, { data: {} as RouteDeps['data'], cursors: createCursorCodec(TEST_CURSOR_SECRET) })
  await t.resolves(async () => { await app.ready() })
  t.ok(responses > 20, `${responses} response schemas built`)
})

t.test('a method a known path lacks is a 405 problem with Allow, whatever the method, before its body is read', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  app.get('/v1/records/:id', async () => ({}))
  app.patch('/v1/records/:id', async () => ({}))
  app.post('/v1/records', async () => ({}))
  app.get('/docs/*', async () => ({}))
  await app.ready()

  for (const [method, url, allow] of [
    ['TRACE', '/v1/records/0193', 'GET, HEAD, PATCH'],
    ['PUT', '/v1/records/0193', 'GET, HEAD, PATCH'],
    ['OPTIONS', '/v1/records', 'POST'],
    ['DELETE', '/v1/records?status=open', 'POST'],
    ['POST', '/docs/swagger-ui.css', 'GET, HEAD']
  ] as const) {
    const response = await app.inject({ method, url })
    t.equal(response.statusCode, 405, `${method} ${url}`)
    t.equal(response.headers.allow, allow, `${method} ${url}: Allow`)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(response.json(), { status: 405, title: 'Method not allowed', detail: `${method} is not a method of ${url.split('?')[0]}; it has ${allow}` })
  }
  // QUERY carries a body: the 405 comes before its content type is looked at (was a 400 about it).
  const query = await app.inject({ method: 'QUERY' as never, url: '/v1/records', headers: { 'content-type': 'text/plain' }, payload: 'status=open' })
  t.equal(query.statusCode, 405, 'QUERY with a body of another type')
  t.equal(query.headers.allow, 'POST')
  const unknown = await app.inject({ method: 'TRACE', url: '/v1/nothing' })
  t.equal(unknown.statusCode, 404, 'a path no route has is still a 404')
  t.notOk(unknown.headers.allow)
})
