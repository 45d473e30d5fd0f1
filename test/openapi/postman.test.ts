import { readFile } from 'node:fs/promises'
import t from 'tap'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import postmanCollection from 'postman-collection'
import { documentationFiles, renderJson } from '../../scripts/openapi/files.ts'
import { buildPostmanCollection, localEnvironment, type PostmanCollection } from '../../scripts/openapi/postman.ts'
import { PostmanCollectionV21, PostmanEnvironment } from './postman-collection-schema.ts'

const { Collection } = postmanCollection
const document = JSON.parse(await readFile(documentationFiles.openapiJson, 'utf8'))
const committed = JSON.parse(await readFile(documentationFiles.postmanCollection, 'utf8')) as PostmanCollection
const environment = JSON.parse(await readFile(documentationFiles.postmanEnvironment, 'utf8'))

const ajv = new Ajv({ allErrors: true, strict: false })
;(addFormats as unknown as (ajv: Ajv) => void)(ajv)

t.test('the committed collection and environment are exactly what the document generates (run `npm run openapi`)', async (t) => {
  t.equal(await readFile(documentationFiles.postmanCollection, 'utf8'), renderJson(await buildPostmanCollection(document)))
  t.equal(await readFile(documentationFiles.postmanEnvironment, 'utf8'), renderJson(localEnvironment()))
})

t.test('the collection is Postman Collection v2.1 JSON', async (t) => {
  const validate = ajv.compile(PostmanCollectionV21)
  t.ok(validate(committed), 'matches the v2.1 format', { errors: validate.errors })
  const sdk = new Collection(committed as never)
  t.equal(sdk.name, 'security-records', 'the Postman SDK loads it')
  t.equal(sdk.toJSON().item?.length, committed.item.length, 'and writes it back with every request')
})

t.test('one request per operation, named by its summary, on the operation\'s method and path', async (t) => {
  const operations = Object.entries(document.paths as Record<string, Record<string, { summary: string }>>)
    .flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, operation]) => `${operation.summary}: ${method.toUpperCase()} {{baseUrl}}${path.replace(/\{(\w+)\}/g, ':$1')}`))
  const requests: string[] = []
  new Collection(committed as never).forEachItem((item) => {
    requests.push(`${item.name}: ${item.request.method} ${item.request.url.getHost()}${item.request.url.getPath({ unresolved: true })}`)
  })
  t.same(requests.sort(), operations.sort())
  t.ok(committed.item.every((item) => !item.item), 'no folders: every item is a request')
})

t.test('requests inherit the collection\'s OAuth 2.0 client credentials auth against the local token endpoint', async (t) => {
  const auth = committed.auth as { type: string, oauth2: Array<{ key: string, value: string }> }
  t.equal(auth.type, 'oauth2')
  const settings = Object.fromEntries(auth.oauth2.map(({ key, value }) => [key, value]))
  t.match(settings, {
    grant_type: 'client_credentials',
    accessTokenUrl: '{{baseUrl}}/oauth2/token',
    clientId: '{{clientId}}',
    clientSecret: '{{clientSecret}}',
    scope: 'records:read records:write records:delete',
    addTokenTo: 'header'
  })
  t.ok(committed.item.every((item) => item.request?.auth === undefined), 'no request overrides the collection auth')
  t.same(committed.variable, [{ key: 'baseUrl', value: 'http://127.0.0.1:8080', type: 'string' }])
})

t.test('the example bodies are the document\'s, and no optional parameter is sent with a made-up value', async (t) => {
  const byName = Object.fromEntries(committed.item.map((item) => [item.name, item.request!]))
  t.same(JSON.parse((byName['Record a security finding']!.body as { raw: string }).raw).title, 'xz backdoor in liblzma')
  t.same(JSON.parse((byName['Change a record']!.body as { raw: string }).raw), { status: 'triaged', assignee: 'team-payments' })
  for (const item of committed.item) {
    for (const parameter of [...item.request!.header, ...item.request!.url.query]) {
      t.notMatch(parameter.value, /^<.*>$|^string$/, `${item.name}: ${parameter.key} has no placeholder value`)
      if (parameter.key === 'Idempotency-Key') t.equal(parameter.disabled, true, 'the Idempotency-Key is the user\'s to choose')
    }
  }
})

t.test('the environment names the local stack and the local-admin client', async (t) => {
  const validate = ajv.compile(PostmanEnvironment)
  t.ok(validate(environment), 'a Postman environment', { errors: validate.errors })
  t.same(Object.fromEntries(environment.values.map(({ key, value }: { key: string, value: string }) => [key, value])), {
    baseUrl: 'http://127.0.0.1:8080', clientId: 'local-admin', clientSecret: 'local-admin-secret'
  })
})
