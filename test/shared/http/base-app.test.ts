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
