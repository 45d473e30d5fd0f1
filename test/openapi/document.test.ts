import { readFile } from 'node:fs/promises'
import t from 'tap'
import Fastify from 'fastify'
import { validate } from '@readme/openapi-parser'
import { functionRegistry } from '../../functions/registry.ts'
import type { RouteDeps } from '../../shared/app.ts'
import { buildOpenApiDocument, SECURITY_SCHEME } from '../../scripts/openapi/document.ts'
import { documentationFiles, renderJson, renderYaml } from '../../scripts/openapi/files.ts'
import { startLocalStack } from '../../local-dev/stack.ts'
import { MAX_HEADER_BYTES, MAX_URL_LENGTH } from '../../shared/http/request-limits.ts'
import { buildRecordsApi } from '../support/records-api.ts'

type Header = { $ref: string }
type Response = { description: string, headers?: Record<string, Header>, content?: Record<string, { schema: { $ref?: string } }> }
type Operation = {
  operationId: string
  summary?: string
  description?: string
  tags?: string[]
  security?: Array<Record<string, string[]>>
  parameters?: Array<{ in: string, name: string, required: boolean, schema?: Record<string, unknown> }>
  responses: Record<string, Response>
}
type Document = {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown>, headers: Record<string, unknown>, securitySchemes: Record<string, { type: string, flows: { clientCredentials: { tokenUrl: string, scopes: Record<string, string> } } }> }
}

/** The API's routes: those of the record functions in the registry. */
const recordFunctions = functionRegistry.filter((entry) => entry.record)
const recordRoutes = recordFunctions.flatMap((entry) => entry.routes)

const document = await buildOpenApiDocument() as unknown as Document
const operations = Object.entries(document.paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, operation]) => ({ path, method, operation })))
const operationId = (method: string, path: string) => operations.find((entry) => entry.method === method && entry.path === path)!.operation.operationId

/** The scope each route declares, read from the route plugins themselves. */
async function declaredScopes (): Promise<Map<string, string | undefined>> {
  const app = Fastify({ logger: false })
  const scopes = new Map<string, string | undefined>()
  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD') return
    scopes.set(`${String(route.method).toLowerCase()} ${route.url.replace(/:(\w+)/g, '{$1}')}`, route.config?.scope)
  })
  for (const { definition } of recordFunctions) await app.register(definition.routes!, {} as RouteDeps)
  await app.ready()
  await app.close()
  return scopes
}

t.test('the committed openapi.json and openapi.yaml are exactly what the code generates (run `npm run openapi`)', async (t) => {
  t.equal(await readFile(documentationFiles.openapiJson, 'utf8'), renderJson(document), 'openapi/openapi.json is current')
  t.equal(await readFile(documentationFiles.openapiYaml, 'utf8'), renderYaml(document), 'openapi/openapi.yaml is current')
})

t.test('the document is valid OpenAPI 3.1 for @readme/openapi-parser, without warnings', async (t) => {
  t.equal(document.openapi, '3.1.0')
  const result = await validate(structuredClone(document) as never)
  t.same(result, { valid: true, warnings: [], specification: 'OpenAPI' })
})

t.test('it documents exactly the routes of the routing table, with the operation ids clients code against', async (t) => {
  const documented = operations.map(({ method, path }) => `${method.toUpperCase()} ${path}`)
  t.same(documented.sort(), recordRoutes.map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`).sort())
  t.same(Object.fromEntries(recordRoutes.map((route) => [`${route.method} ${route.path}`, operationId(route.method.toLowerCase(), route.path.replace(/:(\w+)/g, '{$1}'))])), {
    'POST /v1/records': 'createRecord',
    'GET /v1/records': 'listRecords',
    'GET /v1/records/:id': 'getRecord',
    'GET /v1/records/:id/history': 'getRecordHistory',
    'PATCH /v1/records/:id': 'updateRecord',
    'DELETE /v1/records/:id': 'deleteRecord',
    'POST /v1/imports': 'importReport',
    'GET /v1/imports/:id': 'getImport',
    'POST /v1/vex': 'applyVex',
    'GET /v1/metrics': 'getMetrics'
  })
})

t.test('every operation has a summary, a description, tags, and asks for the scope its route checks', async (t) => {
  const scopes = await declaredScopes()
  for (const { path, method, operation } of operations) {
    t.ok(operation.summary && operation.description && operation.tags?.length, `${operation.operationId} is described`)
    const scope = scopes.get(`${method} ${path}`)
    t.ok(scope, `${method} ${path} declares a scope`)
    t.same(operation.security, [{ [SECURITY_SCHEME]: [scope] }], `${operation.operationId} needs ${scope}`)
  }
})

t.test('the security scheme is OAuth 2.0 client credentials against the mock authorization server', async (t) => {
  const scheme = document.components.securitySchemes[SECURITY_SCHEME]!
  t.equal(scheme.type, 'oauth2')
  t.equal(scheme.flows.clientCredentials.tokenUrl, '/oauth2/token')
  t.same(Object.keys(scheme.flows.clientCredentials.scopes), ['records:read', 'records:write', 'records:delete'])
})

t.test('every error response is application/problem+json with the Problem schema', async (t) => {
  for (const { operation } of operations) {
    for (const [status, response] of Object.entries(operation.responses)) {
      if (Number(status) < 400) continue
      t.same(Object.keys(response.content ?? {}), ['application/problem+json'], `${operation.operationId} ${status}`)
      t.same(response.content!['application/problem+json']!.schema, { $ref: '#/components/schemas/Problem' })
    }
  }
})

t.test('reusable schemas are named components', async (t) => {
  for (const name of ['SecurityRecord', 'RecordCreate', 'RecordPatch', 'RecordPage', 'HistoryEntry', 'HistoryPage', 'Problem']) {
    t.ok(document.components.schemas[name], `${name} is a component`)
  }
  const body = (id: string) => operations.find((entry) => entry.operation.operationId === id)!.operation as unknown as { requestBody: { content: Record<string, { schema: unknown }> } }
  t.same(body('createRecord').requestBody.content['application/json']!.schema, { $ref: '#/components/schemas/RecordCreate' })
  t.same(Object.keys(body('updateRecord').requestBody.content), ['application/merge-patch+json', 'application/json'])
  t.same(body('updateRecord').requestBody.content['application/merge-patch+json']!.schema, { $ref: '#/components/schemas/RecordPatch' })
})

t.test('the HTTP headers of the contract are documented where they occur', async (t) => {
  const byId = Object.fromEntries(operations.map(({ operation }) => [operation.operationId, operation]))
  const responseHeaders = (id: string, status: number) => Object.keys(byId[id]!.responses[status]!.headers ?? {})
  const requestHeader = (id: string, name: string) => byId[id]!.parameters?.find((parameter) => parameter.in === 'header' && parameter.name === name)

  t.same(responseHeaders('createRecord', 201), ['ETag', 'Location', 'Idempotent-Replayed', 'X-Request-Id'])
  t.same(responseHeaders('getRecord', 200), ['ETag', 'X-Request-Id'])
  t.same(responseHeaders('getRecord', 304), ['ETag', 'X-Request-Id'])
  t.same(responseHeaders('updateRecord', 200), ['ETag', 'X-Request-Id'])
  t.same(responseHeaders('listRecords', 200), ['Link', 'X-Request-Id'])
  t.same(responseHeaders('getRecordHistory', 200), ['Link', 'X-Request-Id'])
  for (const { operation } of operations) {
    t.same(responseHeaders(operation.operationId, 401), ['WWW-Authenticate', 'X-Request-Id'], `${operation.operationId} 401 challenges`)
    t.same(responseHeaders(operation.operationId, 403), ['WWW-Authenticate', 'X-Request-Id'], `${operation.operationId} 403 names the scope`)
    t.same(responseHeaders(operation.operationId, 429), ['Retry-After', 'X-Request-Id'])
    t.same(responseHeaders(operation.operationId, 503), ['Retry-After', 'X-Request-Id'])
  }
  t.match(requestHeader('createRecord', 'Idempotency-Key'), { required: false })
  t.match(requestHeader('getRecord', 'If-None-Match'), { required: false })
  t.match(requestHeader('updateRecord', 'If-Match'), { required: true }, 'a PATCH without If-Match is a 428')
  t.match(requestHeader('deleteRecord', 'If-Match'), { required: false })

  const refs = operations.flatMap(({ operation }) => Object.values(operation.responses).flatMap((response) => Object.values(response.headers ?? {}).map((header) => header.$ref)))
  for (const ref of new Set(refs)) t.ok(document.components.headers[ref.replace('#/components/headers/', '')], `${ref} exists`)
})

t.test('what every route answers before its own schema is read is documented: an over-long request target is a 414', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer({ sub: 'local-admin', client_id: 'local-admin' })
  const recordId = '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f'
  for (const { path, method, operation } of operations) {
    t.match(operation.responses[414], { content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } }, `${operation.operationId} documents 414`)
    const url = `${path.replace('{id}', recordId)}?tag=${'a'.repeat(MAX_URL_LENGTH)}`
    const response = await api.app.inject({ method: method.toUpperCase() as 'GET', url, headers: { authorization, 'if-match': '"1"' } })
    t.equal(response.statusCode, 414, `${operation.operationId} answers 414`)
    t.match(response.json(), { status: 414, type: /uri-too-long$/ })
  }
})

t.test('If-Match is documented as a non-empty header: an empty one names no version and is a 428', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer({ sub: 'local-admin', client_id: 'local-admin' })
  for (const id of ['updateRecord', 'deleteRecord']) {
    const { path, method, operation } = operations.find((entry) => entry.operation.operationId === id)!
    t.match(operation.parameters?.find((parameter) => parameter.name === 'If-Match'), { schema: { pattern: '\\S' } })
    const record = await api.create({ title: 'empty If-Match', category: 'other', severity: 'low', asset: { name: 'a', type: 'host' } })
    const response = await api.app.inject({
      method: method.toUpperCase() as 'PATCH', url: path.replace('{id}', record.id), headers: { authorization, 'if-match': '', 'content-type': 'application/json' }, payload: '{"assignee":"team-a"}'
    })
    t.equal(response.statusCode, 428, `${id} with an empty If-Match`)
  }
})

t.test('the documented 431 is what the local stack answers through its gateway: problem+json for headers over 16 KiB', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  for (const { operation } of operations) t.ok(operation.responses[431], `${operation.operationId} documents 431`)
  const response = await fetch(`${stack.url}/v1/records`, { headers: { 'x-padding': 'a'.repeat(MAX_HEADER_BYTES) } })
  t.equal(response.status, 431)
  t.match(response.headers.get('content-type'), /^application\/problem\+json/)
  t.match(await response.json(), { status: 431, type: /headers-too-large$/, title: 'Request header fields too large' })
})

t.test('links lead from a created record to reading, changing, deleting it and its history, and from an import to following it', async (t) => {
  type Link = { operationId: string, parameters: Record<string, string> }
  const linksOf = (id: string, status: string) => (operations.find((entry) => entry.operation.operationId === id)!.operation.responses[status] as Response & { links?: Record<string, Link> }).links ?? {}
  const targets = (id: string, status: string) => Object.values(linksOf(id, status)).map((link) => link.operationId).sort()
  t.same(targets('createRecord', '201'), ['deleteRecord', 'getRecord', 'getRecordHistory', 'updateRecord'])
  t.same(targets('updateRecord', '200'), ['deleteRecord', 'getRecord', 'getRecordHistory', 'updateRecord'])
  t.same(targets('getRecord', '200'), ['deleteRecord', 'getRecordHistory', 'updateRecord'])
  t.same(targets('importReport', '201'), ['getImport'])
  t.same(targets('importReport', '202'), ['getImport'])
  for (const { operation } of operations) {
    for (const [status, response] of Object.entries(operation.responses)) {
      for (const [name, link] of Object.entries((response as { links?: Record<string, Link> }).links ?? {})) {
        const target = operations.find((entry) => entry.operation.operationId === link.operationId)
        t.ok(target, `${operation.operationId} ${status} ${name}: ${link.operationId} exists`)
        for (const [parameter, expression] of Object.entries(link.parameters)) {
          const [where, parameterName] = parameter.includes('.') ? parameter.split('.') as [string, string] : ['path', parameter]
          t.ok(target!.operation.parameters?.some((candidate) => candidate.in === where && candidate.name === parameterName), `${operation.operationId} ${status} ${name}: ${link.operationId} has the ${where} parameter ${parameterName}`)
          t.match(expression, /^\$response\.(body#\/id|header\.ETag)$/, `${name}.${parameter} comes from the response`)
          if (expression === '$response.header.ETag') t.ok(response.headers?.ETag, `${operation.operationId} ${status} sends the ETag ${name} uses`)
        }
      }
    }
  }
})

t.test('the import request body has a schema: an object with the SARIF version and at least one run naming its tool, or a CycloneDX BOM', async (t) => {
  const [path, byMethod] = Object.entries(document.paths).find(([, methods]) => methods.post?.operationId === 'importReport')!
  const body = (byMethod.post as Operation & { requestBody: { content: Record<string, { schema: Record<string, any> }> } }).requestBody
  t.same(Object.keys(body.content).sort(), ['application/json', 'application/sarif+json', 'application/vnd.cyclonedx+json'], path)
  t.match(body.content['application/vnd.cyclonedx+json']!.schema, { required: ['bomFormat', 'specVersion'], properties: { bomFormat: { const: 'CycloneDX' } } })
  t.equal(body.content['application/json']!.schema.anyOf.length, 2, 'as application/json: either')
  for (const [type, { schema }] of Object.entries(body.content).filter(([type]) => type === 'application/sarif+json').concat([['application/json', { schema: body.content['application/json']!.schema.anyOf[0] }]])) {
    t.equal(schema.type, 'object', `${type}: an object`)
    t.same(schema.required, ['version', 'runs'], `${type}: version and runs required`)
    t.same(schema.properties.version, { const: '2.1.0', description: schema.properties.version.description }, `${type}: version 2.1.0`)
    t.match(schema.properties.runs, { type: 'array', minItems: 1, items: { type: 'object', required: ['tool'] } }, `${type}: runs`)
  }
})

t.test('a create names a severity or a CVSS vector: the document says so as the API checks it', async (t) => {
  const { Ajv2020 } = await import('ajv/dist/2020.js')
  const ajv = new Ajv2020({ strict: false })
  for (const [name, schema] of Object.entries(document.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`)
  const validCreate = ajv.getSchema('#/components/schemas/RecordCreate')!
  const body = { title: 'Open port', category: 'misconfiguration', asset: { name: 'edge', type: 'host' } }
  t.notOk(validCreate(body), 'neither: the schema refuses it')
  t.ok(validCreate({ ...body, severity: 'low' }), 'a severity')
  t.ok(validCreate({ ...body, cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' } }), 'a vector')
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer({}) }, payload: body })
  t.equal(response.statusCode, 400, 'and so does the API')
  t.match(response.json().errors, [{ path: '/severity' }])
})
