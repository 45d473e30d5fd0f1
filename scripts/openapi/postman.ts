/**
 * The Postman collection (v2.1) and local environment, generated from the OpenAPI document with
 * openapi-to-postmanv2, then made importable and runnable as they are: one request per operation
 * in the order of a record's life, a token the collection fetches itself, tests on every
 * request, and nothing random (so a test can check drift).
 */
import { convertV2 } from 'openapi-to-postmanv2'
import { oauthPaths } from '../../functions/mock-auth/endpoints.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { flowVariables, requestFlow, testScript, tokenPreRequest, type RequestFlow } from './postman-scripts.ts'

export const POSTMAN_COLLECTION_SCHEMA = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json'
export const LOCAL_BASE_URL = 'http://127.0.0.1:8080'

interface KeyValue { key: string, value: string, disabled?: boolean, description?: unknown, type?: string }
interface PostmanRequest {
  method: string
  url: { path: string[], host: string[], query: KeyValue[], variable: KeyValue[] }
  header: KeyValue[]
  auth?: unknown
  body?: unknown
  description?: unknown
}
export interface PostmanItem { id?: string, name: string, item?: PostmanItem[], request?: PostmanRequest, response?: Array<Record<string, unknown>>, event?: unknown[] }
export interface PostmanCollection {
  info: { _postman_id?: string, name: string, schema: string, description?: unknown }
  item: PostmanItem[]
  auth?: unknown
  event?: unknown[]
  variable: KeyValue[]
}

type OpenApiDocument = {
  info: { title: string }
  paths: Record<string, Record<string, { operationId: string, summary: string, parameters?: Array<{ in: string, name: string, example?: unknown, schema?: { default?: unknown } }> }>>
}

const string = (key: string, value: string) => ({ key, value, type: 'string' })

/**
 * The collection's pre-request script puts a token for the environment's client into
 * `accessToken`; the OAuth 2.0 settings stay for "Get New Access Token" in the Postman app.
 */
const collectionAuth = {
  type: 'oauth2',
  oauth2: [
    string('accessToken', '{{accessToken}}'),
    string('grant_type', 'client_credentials'),
    string('accessTokenUrl', `{{baseUrl}}${oauthPaths.token}`),
    string('clientId', '{{clientId}}'),
    string('clientSecret', '{{clientSecret}}'),
    string('scope', Object.values(scopes).join(' ')),
    string('client_authentication', 'header'),
    string('tokenName', 'security-records'),
    string('addTokenTo', 'header')
  ]
}

/** Converts the OpenAPI document into the collection that `npm run openapi` writes. */
export async function buildPostmanCollection (document: OpenApiDocument): Promise<PostmanCollection> {
  const converted = await new Promise<PostmanCollection>((resolve, reject) => {
    convertV2({ type: 'json', data: structuredClone(document) as never }, {
      folderStrategy: 'Tags',
      parametersResolution: 'Example',
      enableOptionalParameters: false,
      alwaysInheritAuthentication: true,
      includeAuthInfoInExample: false
    }, (error, result) => {
      if (error) return reject(error)
      if (!result?.result) return reject(new Error(`openapi-to-postmanv2: ${String((result as { reason?: string } | undefined)?.reason)}`))
      resolve(result.output![0]!.data as unknown as PostmanCollection)
    })
  })

  const examples = parameterExamples(document)
  const operationIds = new Map(Object.values(document.paths).flatMap((operations) => Object.values(operations)).map((operation) => [operation.summary, operation.operationId]))
  const requests = flatten(converted.item).map((item) => {
    const operationId = operationIds.get(item.name)
    const flow = operationId ? requestFlow[operationId] : undefined
    if (!operationId || !flow) throw new Error(`the collection's request "${item.name}" has no place in the request flow (scripts/openapi/postman-scripts.ts)`)
    return withoutIds({
      ...item,
      request: chain(settle(item.request!, examples), flow),
      response: (item.response ?? []).map((response) => ({ ...response, originalRequest: settle(response.originalRequest as PostmanRequest, examples) })),
      event: [testScript(flow.tests)]
    })
  })
  const order = Object.keys(requestFlow)
  requests.sort((a, b) => order.indexOf(operationIds.get(a.name)!) - order.indexOf(operationIds.get(b.name)!))
  return {
    info: { name: document.info.title, schema: POSTMAN_COLLECTION_SCHEMA, description: converted.info.description },
    item: requests,
    auth: collectionAuth,
    event: [tokenPreRequest],
    variable: [
      { key: 'baseUrl', value: LOCAL_BASE_URL, type: 'string' },
      ...flowVariables.map((key) => ({ key, value: '', type: 'string' }))
    ]
  }
}

/** Points a request at the variables earlier requests set, and switches on the query it needs. */
function chain (request: PostmanRequest, flow: RequestFlow): PostmanRequest {
  const override = (values: Record<string, string> | undefined) => (parameter: KeyValue): KeyValue => {
    const value = values?.[parameter.key]
    return value === undefined ? parameter : { ...parameter, value, disabled: false }
  }
  return {
    ...request,
    url: { ...request.url, variable: request.url.variable.map(override(flow.pathVariables)), query: request.url.query.map(override(flow.query)) },
    header: request.header.map(override(flow.headers)),
    ...(flow.body === undefined ? {} : { body: { mode: 'raw', raw: flow.body, options: { raw: { language: 'json' } } } })
  }
}

/** The environment for the local stack (`npm start`): its origin and the local-admin client. */
export function localEnvironment () {
  return {
    id: '5ec0f1e2-7d3c-4b8a-9f6e-1a2b3c4d5e6f',
    name: 'security-records local stack',
    values: [
      { key: 'baseUrl', value: LOCAL_BASE_URL, type: 'default', enabled: true },
      { key: 'clientId', value: 'local-admin', type: 'default', enabled: true },
      { key: 'clientSecret', value: 'local-admin-secret', type: 'secret', enabled: true }
    ],
    _postman_variable_scope: 'environment'
  }
}

function flatten (items: PostmanItem[]): PostmanItem[] {
  return items.flatMap((item) => (item.item ? flatten(item.item) : [item]))
}

/** Removes the random ids the converter assigns (Postman assigns its own on import). */
function withoutIds<T> (value: T): T {
  if (Array.isArray(value)) return value.map(withoutIds) as T
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'id' && key !== '_postman_id').map(([key, inner]) => [key, withoutIds(inner)])) as T
}

/** Example (or default) values of every query and header parameter, by name: from the document, never faked. */
function parameterExamples (document: OpenApiDocument): Map<string, string> {
  const examples = new Map<string, string>()
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations)) {
      for (const parameter of operation.parameters ?? []) {
        const value = parameter.example ?? parameter.schema?.default
        if (value !== undefined) examples.set(`${parameter.in}:${parameter.name}`, String(value))
      }
    }
  }
  return examples
}

/**
 * Optional parameters come disabled, but the converter fakes a value for them from the schema
 * (at random for patterns): keep only documented examples, else leave the value for the user.
 */
function settle (request: PostmanRequest, examples: Map<string, string>): PostmanRequest {
  const settleParameter = (where: string) => (parameter: KeyValue): KeyValue => (parameter.disabled
    ? { ...parameter, value: examples.get(`${where}:${parameter.key}`) ?? '' }
    : parameter)
  const { auth: _inherited, body, ...rest } = request
  return {
    ...rest,
    ...(body && Object.keys(body).length > 0 ? { body } : {}),
    url: { ...request.url, query: request.url.query.map(settleParameter('query')) },
    header: request.header.filter((header) => header.key !== 'Accept' || header.value === 'application/json').map(settleParameter('header'))
  }
}
