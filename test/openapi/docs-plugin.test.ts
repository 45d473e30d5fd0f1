import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import localDocs from '../../local-dev/docs.ts'
import { documentationFiles } from '../../scripts/openapi/files.ts'

const committed = await readFile(documentationFiles.openapiJson, 'utf8')

async function docsApp (t: Test) {
  const app = Fastify({ logger: false })
  await app.register(localDocs)
  t.teardown(() => app.close())
  return app
}

t.test('/openapi.json serves the committed document byte for byte, and Swagger UI reads the same one', async (t) => {
  const app = await docsApp(t)
  const response = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  t.equal(response.body, committed)
  const ui = await app.inject({ method: 'GET', url: '/docs/json' })
  t.same(ui.json(), JSON.parse(committed))
})

t.test('/docs is Swagger UI from the bundled assets, preselecting the local-admin client and every scope', async (t) => {
  const app = await docsApp(t)
  const page = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /swagger-ui-bundle\.js/)
  t.equal((await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' })).statusCode, 200)
  const initializer = (await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })).body
  t.match(initializer, /"clientId":\s*"local-admin"/)
  t.match(initializer, /records:read.*records:write.*records:delete/s)
  t.notMatch(initializer, /local-admin-secret/, 'no secret is baked into the page')
})
