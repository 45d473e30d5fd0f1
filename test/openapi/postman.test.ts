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

t.test('the requests run in the order of a record\'s life and pass it on: id and ETag from the create, ETag from the change', async (t) => {
  const byName = Object.fromEntries(committed.item.map((item) => [item.name, item.request!]))
  t.same(committed.item.map((item) => item.name), ['Record a security finding', 'Read one record', 'Change a record', 'Read a record\'s audit history', 'List records', 'Delete a record', 'Import a scanner report (SARIF 2.1.0, CycloneDX 1.4/1.5/1.6)', 'Follow an import', 'Apply a VEX document (OpenVEX 0.2, CycloneDX VEX) to existing records', 'Security metrics of the tenant'])
  for (const name of ['Read one record', 'Change a record', 'Read a record\'s audit history', 'Delete a record']) {
    t.same(byName[name]!.url.variable.map(({ key, value }) => [key, value]), [['id', '{{recordId}}']], `${name}: the created record`)
  }
  for (const name of ['Change a record', 'Delete a record']) {
    t.match(byName[name]!.header.find((header) => header.key === 'If-Match'), { value: '{{etag}}', disabled: false }, `${name}: If-Match from the previous answer`)
  }
  const sets = (name: string) => committed.item.find((item) => item.name === name)!.event!.flatMap((event) => (event as { script: { exec: string[] } }).script.exec).join('\n')
  t.match(sets('Record a security finding'), /collectionVariables\.set\('recordId', record\.id\)[^]*collectionVariables\.set\('etag'/)
  t.match(sets('Change a record'), /collectionVariables\.set\('etag'/)
})

t.test('every request has tests: the status, the media type of a body, and the fields that matter', async (t) => {
  for (const item of committed.item) {
    const tests = (item.event ?? []) as Array<{ listen: string, script: { exec: string[] } }>
    t.same(tests.map((event) => event.listen), ['test'], `${item.name}: a test script`)
    const code = tests[0]!.script.exec.join('\n')
    t.match(code, /pm\.response\.to\.have\.status\(\d{3}\)/, `${item.name}: checks the status`)
    if (item.request!.method !== 'DELETE') t.match(code, /Content-Type/, `${item.name}: checks the media type`)
    t.ok((code.match(/pm\.test\(/g) ?? []).length >= 2, `${item.name}: more than the status`)
  }
})

t.test('nothing in a request is fixed that fails a second run: no fingerprint, no fixed id, no Idempotency-Key', async (t) => {
  const create = committed.item.find((item) => item.name === 'Record a security finding')!.request!
  t.notOk('fingerprint' in JSON.parse((create.body as { raw: string }).raw), 'the create body carries no fingerprint (unique per tenant)')
  t.notMatch(JSON.stringify(committed.item.map((item) => [item.request!.url, item.request!.header])), /01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f/, 'no request names the example id')
})

t.test('requests inherit the collection\'s OAuth 2.0 client credentials auth against the local token endpoint', async (t) => {
  const auth = committed.auth as { type: string, oauth2: Array<{ key: string, value: string }> }
  t.equal(auth.type, 'oauth2')
  const settings = Object.fromEntries(auth.oauth2.map(({ key, value }) => [key, value]))
  t.match(settings, {
    accessToken: '{{accessToken}}',
    grant_type: 'client_credentials',
    accessTokenUrl: '{{baseUrl}}/oauth2/token',
    clientId: '{{clientId}}',
    clientSecret: '{{clientSecret}}',
    scope: 'records:read records:write records:delete',
    addTokenTo: 'header'
  })
  t.ok(committed.item.every((item) => item.request?.auth === undefined), 'no request overrides the collection auth')
  t.same(committed.variable.map(({ key, value }) => [key, value]), [['baseUrl', 'http://127.0.0.1:8080'], ['accessToken', ''], ['accessTokenExpiresAt', ''], ['recordId', ''], ['etag', ''], ['importId', '']])
  const prerequest = (committed.event ?? []) as Array<{ listen: string, script: { exec: string[] } }>
  t.same(prerequest.map((event) => event.listen), ['prerequest'], 'a collection-level pre-request script')
  t.match(prerequest[0]!.script.exec.join('\n'), /pm\.variables\.get\('clientId'\)[^]*grant_type[^]*client_credentials[^]*collectionVariables\.set\('accessToken'/, 'that gets the token for the environment\'s client')
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
  const listQuery = byName['List records']!.url.query.filter((parameter) => !parameter.disabled)
  t.same(listQuery.map(({ key, value }) => [key, value]), [['status', 'open,triaged'], ['severity', 'critical,high']], 'the list sends the documented filter examples')
})

t.test('the environment names the local stack and the local-admin client', async (t) => {
  const validate = ajv.compile(PostmanEnvironment)
  t.ok(validate(environment), 'a Postman environment', { errors: validate.errors })
  t.same(Object.fromEntries(environment.values.map(({ key, value }: { key: string, value: string }) => [key, value])), {
    baseUrl: 'http://127.0.0.1:8080', clientId: 'local-admin', clientSecret: 'local-admin-secret'
  })
})
