/**
 * The OpenAPI 3.1 document of the records API, generated from the code: one Fastify instance
 * registers the route plugin of every function the routing table names, and @fastify/swagger
 * reads their schemas. What the route schemas cannot say (the scope a route needs, response
 * headers, named examples) is added here from the routes' own config and the tables below.
 */
import Fastify, { type FastifyPluginAsync } from 'fastify'
import swagger from '@fastify/swagger'
import { readFileSync } from 'node:fs'
import { functionRegistry } from '../../functions/registry.ts'
import { scopes } from '../../shared/auth/auth-plugin.ts'
import { PROBLEM_CONTENT_TYPE, problemResponses } from '../../shared/http/problem.ts'
import { MAX_HEADER_BYTES, MAX_URL_LENGTH } from '../../shared/http/request-limits.ts'
import { oauthPaths } from '../../functions/mock-auth/endpoints.ts'
import { validatorCompiler } from '../../shared/validation.ts'
import { summarize } from '../../shared/metrics/summary.ts'
import { extractSchemaComponents, namedSchemas } from './components.ts'
import {
  applyVexRequests, createdRecord, createRecordRequests, etags, exampleImportId, exampleRecordId, finishedImport, importReportRequests, queuedImport, historyPage, problemExample, recordPage, triagedRecord, vexOutcome,
  updateRecordRequests, type NamedExample
} from './examples.ts'

export const SECURITY_SCHEME = 'oauth2'

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

const scopeDescriptions: Record<string, string> = {
  [scopes.read]: 'Read records, lists and history.',
  [scopes.write]: 'Create and change records.',
  [scopes.delete]: 'Delete records.'
}

/** Response headers, each documented once and referenced from every response that sends it. */
const headers = {
  MetricsETag: {
    description: 'Weak entity tag of the figures (their `asOf` left out). Send it as `If-None-Match`: a 304 while they are unchanged.',
    schema: { type: 'string', pattern: '^W/"[A-Za-z0-9_-]+"$' },
    example: 'W/"k3Jx0cW9mXb1r8yQ2vN5tA7hL4e"'
  },
  ETag: {
    description: 'Entity tag of this version of the record. Send it as `If-Match` to change or delete exactly this version, or as `If-None-Match` to revalidate a cached copy.',
    schema: { type: 'string', pattern: '^"[0-9]+"$' },
    example: etags.created
  },
  Location: {
    description: 'Path of the created record.',
    schema: { type: 'string', format: 'uri-reference' },
    example: `/v1/records/${exampleRecordId}`
  },
  IdempotentReplayed: {
    description: '`true` when this response is the replay of an earlier request with the same `Idempotency-Key` and body: no second record was created.',
    schema: { type: 'string', enum: ['true'] },
    example: 'true'
  },
  ImportLocation: {
    description: 'Path of the import: follow it until its `status` is succeeded or failed.',
    schema: { type: 'string', format: 'uri-reference' },
    example: `/v1/imports/${exampleImportId}`
  },
  Link: {
    description: 'RFC 8288 link to the next page (`rel="next"`): the same request with `cursor` set. Absent on the last page.',
    schema: { type: 'string' },
    example: `</v1/records?status=open%2Ctriaged&cursor=${recordPage.nextCursor}>; rel="next"`
  },
  RetryAfter: {
    description: 'Seconds to wait before retrying (RFC 9110 §10.2.3).',
    schema: { type: 'integer', minimum: 0 },
    example: 1
  },
  WWWAuthenticateInvalidToken: {
    description: 'RFC 6750 Bearer challenge: the token is missing, malformed, expired, revoked or not for this API. Get a new one at the token endpoint.',
    schema: { type: 'string' },
    example: 'Bearer realm="security-records", error="invalid_token", error_description="This request needs an access token (Authorization: Bearer <token>)"'
  },
  WWWAuthenticateInsufficientScope: {
    description: 'RFC 6750 Bearer challenge naming the scope the token lacks.',
    schema: { type: 'string' },
    example: 'Bearer realm="security-records", error="insufficient_scope", scope="records:write"'
  },
  XRequestId: {
    description: 'The id of this request, also in every problem as `requestId` and in the logs. Send your own `X-Request-Id` (8–128 characters of `A-Za-z0-9._:-`) to follow a request through every hop.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{8,128}$' },
    example: '5c7e9a1b-3d2f-4e6a-8b0c-9d1e2f3a4b5c'
  }
} as const
type HeaderName = keyof typeof headers

/** The header names responses carry, and the component that documents each. */
const headerNames: Record<HeaderName, string> = {
  MetricsETag: 'ETag',
  ETag: 'ETag',
  Location: 'Location',
  ImportLocation: 'Location',
  IdempotentReplayed: 'Idempotent-Replayed',
  Link: 'Link',
  RetryAfter: 'Retry-After',
  WWWAuthenticateInvalidToken: 'WWW-Authenticate',
  WWWAuthenticateInsufficientScope: 'WWW-Authenticate',
  XRequestId: 'X-Request-Id'
}

/** Headers of error responses, whatever the operation. */
const problemHeaders: Record<number, HeaderName[]> = {
  401: ['WWWAuthenticateInvalidToken'],
  403: ['WWWAuthenticateInsufficientScope'],
  429: ['RetryAfter'],
  503: ['RetryAfter']
}

/** An OpenAPI link: the operation a response leads to, and where its parameters come from. */
interface Link {
  operationId: string
  parameters: Record<string, string>
  description: string
}

/** The links of an answer carrying a record (its `id`, its `ETag`) to what can be done with it next. */
const recordLinks = (...without: string[]): Record<string, Link> => Object.fromEntries(Object.entries<Link>({
  GetRecord: { operationId: 'getRecord', parameters: { id: '$response.body#/id' }, description: 'Read this record.' },
  UpdateRecord: {
    operationId: 'updateRecord',
    parameters: { id: '$response.body#/id', 'header.If-Match': '$response.header.ETag' },
    description: 'Change this version of the record (its `ETag` as `If-Match`).'
  },
  DeleteRecord: { operationId: 'deleteRecord', parameters: { id: '$response.body#/id' }, description: 'Delete this record.' },
  GetRecordHistory: { operationId: 'getRecordHistory', parameters: { id: '$response.body#/id' }, description: 'Who changed this record, and what.' }
}).filter(([, link]) => !without.includes(link.operationId)))

const importLinks: Record<string, Link> = {
  GetImport: { operationId: 'getImport', parameters: { id: '$response.body#/id' }, description: 'Follow this import until its `status` is succeeded or failed.' }
}

/**
 * The request body of `POST /v1/imports`. The route reads the report as a stream (its own schema
 * says nothing), so the document states what it accepts: a SARIF 2.1.0 log with at least one run,
 * each naming its tool. Everything else is described but not constrained: the import takes what it
 * can use of it (a result that is no object is counted as rejected, not refused).
 */
const sarifLogSchema = {
  type: 'object',
  description: 'A SARIF 2.1.0 log (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/), as written by CodeQL, Semgrep, Trivy, Bandit, ESLint and others; gzip-compressed with `Content-Encoding: gzip` if you like. Up to 50 000 results in all.',
  required: ['version', 'runs'],
  properties: {
    $schema: { description: 'The SARIF schema the log names (optional).' },
    version: { const: '2.1.0', description: 'The SARIF version: only 2.1.0 is imported.' },
    runs: {
      type: 'array',
      minItems: 1,
      description: 'One run per tool invocation; a scan without findings is a run with an empty `results` array.',
      items: {
        type: 'object',
        required: ['tool'],
        properties: {
          tool: {
            type: 'object',
            required: ['driver'],
            properties: {
              driver: {
                type: 'object',
                required: ['name'],
                properties: {
                  name: { type: 'string', pattern: '\\S', description: 'The tool: with the category and the asset, the scope a re-import resolves within.' },
                  semanticVersion: { description: 'The tool\'s version (a string), else `version`.' },
                  version: {},
                  rules: { description: 'The rules results refer to (`ruleId`, `ruleIndex`): their severity, CWE tags, descriptions.' }
                }
              },
              extensions: { description: 'Rules of the tool\'s extensions (`rule.toolComponent`).' }
            }
          },
          automationDetails: { description: '`id`: the analysis category (up to its last `/`), like GitHub code scanning.' },
          results: { description: 'One record per result (an object), identified by its rule and `fingerprints` / `partialFingerprints` (else rule, location and snippet). A scan without findings: an empty array.' }
        }
      }
    }
  }
}

/** A CycloneDX BOM as the import and the VEX endpoint read it: the profile, the vulnerabilities, what they refer to. */
const cyclonedxBomSchema = {
  type: 'object',
  description: 'A CycloneDX 1.4–1.6 JSON BOM (ECMA-424, https://cyclonedx.org/specification/overview/), as Trivy, Grype, OSV-Scanner, cdxgen and Dependency-Track write it.',
  required: ['bomFormat', 'specVersion'],
  properties: {
    bomFormat: { const: 'CycloneDX' },
    specVersion: { enum: ['1.4', '1.5', '1.6'] },
    metadata: { description: '`tools`: the scanner (the scope\'s tool); `component`: what the BOM describes.' },
    components: { type: 'array', description: 'The components `affects[].ref` names by `bom-ref` (nested ones included).' },
    vulnerabilities: { type: 'array', description: 'Each entry × each `affects[].ref`: one record on that component (an import), or a decision from `analysis.state` (a VEX).' }
  }
}

/** An OpenVEX 0.2.0 document as the VEX endpoint reads it. */
const openvexSchema = {
  type: 'object',
  description: 'An OpenVEX 0.2.0 document (https://github.com/openvex/spec).',
  required: ['@context', 'statements'],
  properties: {
    '@context': { type: 'string', pattern: '^https://openvex\\.dev/ns' },
    '@id': { type: 'string', description: 'Named by the reasons the statements write.' },
    author: { type: 'string', description: 'Named by the reasons the statements write.' },
    statements: { type: 'array', description: 'Each applies its `status` to the records naming its vulnerability whose component is one of its products.' }
  }
}

interface OperationDocs {
  /** The request path problems of this operation name as `instance`. */
  instance: string
  requestExamples?: Record<string, NamedExample<unknown>>
  /** The request body's schema per media type, where the route's own says nothing (a body read as a stream). */
  requestSchemas?: Record<string, unknown>
  /** The media types the request examples are documents of (all when not said). */
  requestExampleTypes?: string[]
  /** Success responses: their headers, named examples and links to the operations that follow. */
  responses: Record<number, { headers?: HeaderName[], examples?: Record<string, NamedExample<unknown>>, links?: Record<string, Link> }>
  /** Request headers the schema leaves optional because a missing one is a 428, not a 400. */
  requiredHeaders?: string[]
  /** Examples of request headers, to prefill a try-out. */
  headerExamples?: Record<string, string>
}

const recordPath = `/v1/records/${exampleRecordId}`

/** The figures of a small tenant, made by the code that makes the real ones (so the example cannot drift from it). */
const exampleMetrics = summarize({
  now: new Date('2026-12-06T09:30:00.000Z'),
  windowDays: 30,
  counts: { 's|critical|open': 2, 's|high|open': 5, 's|high|triaged': 3, 's|high|resolved': 14, 's|medium|in_progress': 4, 'c|vulnerability': 11, 'c|misconfiguration': 3, 'd|critical|2026-12-04': 1, 'd|critical|2026-12-10': 1, 'd|high|2026-12-20': 8, 'd|medium|2027-02-01': 4 },
  days: new Map<string, Record<string, number>>([['2026-12-01', { opened: 3, 'r|high': 2, 't|high|93': 1, 't|high|101': 1, 'm|high': 2 }], ['2026-12-05', { opened: 1, 'r|high': 1, 't|high|120': 1 }]]),
  topAssets: [{ name: 'payments-api', open: 9 }, { name: 'web-shop', open: 5 }]
})

const operationDocs: Record<string, OperationDocs> = {
  createRecord: {
    instance: '/v1/records',
    requestExamples: createRecordRequests,
    responses: {
      201: {
        headers: ['ETag', 'Location', 'IdempotentReplayed'],
        examples: { cvssScored: { summary: 'The record made from the first request example', value: createdRecord } },
        links: recordLinks()
      }
    }
  },
  getRecord: {
    instance: recordPath,
    responses: {
      200: { headers: ['ETag'], examples: { triaged: { summary: 'A triaged record (version 2)', value: triagedRecord } }, links: recordLinks('getRecord') },
      304: { headers: ['ETag'] }
    }
  },
  listRecords: {
    instance: '/v1/records',
    responses: {
      200: { headers: ['Link'], examples: { openOrTriaged: { summary: 'First page of `?status=open,triaged&limit=1`', value: recordPage } } }
    }
  },
  updateRecord: {
    instance: recordPath,
    requestExamples: updateRecordRequests,
    requiredHeaders: ['If-Match'],
    headerExamples: { 'If-Match': etags.created },
    responses: {
      200: { headers: ['ETag'], examples: { triaged: { summary: 'The record after the triage patch', value: triagedRecord } }, links: recordLinks() }
    }
  },
  deleteRecord: {
    instance: recordPath,
    responses: { 204: {} }
  },
  getRecordHistory: {
    instance: `${recordPath}/history`,
    responses: {
      200: { headers: ['Link'], examples: { createdThenTriaged: { summary: 'A record created, then triaged', value: historyPage } } }
    }
  },
  getMetrics: {
    instance: '/v1/metrics',
    responses: {
      200: { headers: ['MetricsETag'], examples: { tenant: { summary: 'A tenant\'s figures over 30 days', value: exampleMetrics } } },
      304: { headers: ['MetricsETag'] }
    }
  },
  importReport: {
    instance: '/v1/imports',
    requestSchemas: { 'application/sarif+json': sarifLogSchema, 'application/vnd.cyclonedx+json': cyclonedxBomSchema, 'application/json': { anyOf: [sarifLogSchema, cyclonedxBomSchema] } },
    requestExamples: importReportRequests,
    requestExampleTypes: ['application/sarif+json', 'application/json'],
    responses: {
      201: { headers: ['ImportLocation'], examples: { finished: { summary: 'A small report, applied before the answer', value: finishedImport } }, links: importLinks },
      202: { headers: ['ImportLocation'], examples: { queued: { summary: 'A larger report, queued', value: queuedImport } }, links: importLinks }
    }
  },
  applyVex: {
    instance: '/v1/vex',
    requestSchemas: { 'application/openvex+json': openvexSchema, 'application/vnd.cyclonedx+json': cyclonedxBomSchema, 'application/json': { anyOf: [openvexSchema, cyclonedxBomSchema] } },
    requestExamples: applyVexRequests,
    requestExampleTypes: ['application/openvex+json', 'application/json'],
    responses: { 200: { examples: { applied: { summary: 'One statement applied, one naming no record', value: vexOutcome } } } }
  },
  getImport: {
    instance: `/v1/imports/${exampleImportId}`,
    responses: { 200: { examples: { finished: { summary: 'A re-import that resolved two records and reopened one', value: finishedImport } } } }
  }
}

const description = `Record, triage and track security findings — vulnerabilities, misconfigurations, exposed secrets, incidents.

**Authentication.** Every operation needs an OAuth 2.0 access token (RFC 9068 JWT) from the client credentials grant at \`${oauthPaths.token}\`, sent as \`Authorization: Bearer <token>\`; each operation names the scope it needs. The local stack ships the clients \`local-admin\` / \`local-admin-secret\` (all scopes), \`local-reader\` / \`local-reader-secret\` (read only) and \`local-other\` / \`local-other-secret\` (another tenant). A token only ever sees its own tenant's records.

**Errors** are \`application/problem+json\` (RFC 9457) with \`type\`, \`title\`, \`status\`, \`detail\`, \`instance\` and the \`requestId\` to quote; validation problems list every offending field in \`errors\`.

**Concurrency and retries.** Every record carries an \`ETag\`; \`PATCH\` needs it as \`If-Match\`, so no change is ever lost. \`POST\` with an \`Idempotency-Key\` is safe to retry.`

type Operation = {
  operationId: string
  parameters?: Array<{ in: string, name: string, required?: boolean, example?: unknown }>
  requestBody?: { content: Record<string, { schema: unknown, example?: unknown, examples?: unknown }> }
  responses: Record<string, { description: string, headers?: Record<string, unknown>, content?: Record<string, { schema: unknown, example?: unknown, examples?: unknown }> }>
  security?: unknown
}
type Document = { paths: Record<string, Record<string, Operation>>, components: Record<string, unknown> } & Record<string, unknown>

/**
 * Answers every route gives before its own schema is read (shared/http/request-limits.ts): the
 * route schemas cannot list them, so the document adds them to each operation.
 */
const requestLimitResponses: Record<number, string> = {
  414: `The request target (path and query) is longer than ${MAX_URL_LENGTH} characters.`,
  431: `The request line and headers together are larger than ${MAX_HEADER_BYTES / 1024} KiB.`
}

/** Conditional request headers: an empty one names no version and is answered like a missing one (428). */
const entityTagHeaders = ['If-Match']

/** `if-match` → `If-Match`: header names as the RFCs spell them. */
const headerCase = (name: string) => name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-')

/** The record functions of the registry, each with its route plugin. */
const recordFunctions = functionRegistry.filter((entry) => entry.record)

function routePlugins (): FastifyPluginAsync<any>[] {
  return recordFunctions.map(({ definition }) => {
    if (!definition.routes) throw new Error(`${definition.name} is a record function without a route plugin`)
    return definition.routes
  })
}

/** Builds the document from the route plugins of every function in the routing table. */
export async function buildOpenApiDocument (): Promise<Document> {
  const app = Fastify({ logger: false })
  // The functions' own validator compiler: the document is only made from schemas that compile.
  app.setValidatorCompiler(validatorCompiler)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'security-records',
        version: packageJson.version,
        summary: 'A secure REST API for security findings.',
        description,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' }
      },
      servers: [{ url: '/', description: 'The origin serving this document: the local stack (npm start) or the cluster ingress' }],
      tags: [
        { name: 'records', description: 'Security records: create, read, list, change, delete, and their audit history.' },
        { name: 'imports', description: 'Scanner reports (SARIF 2.1.0) in, records out; re-imports resolve what a scan no longer reports.' },
        { name: 'metrics', description: 'Live counts, remediation times, SLA compliance and trends, kept from the record events.' }
      ],
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: {
            type: 'oauth2',
            description: `OAuth 2.0 client credentials (RFC 6749 §4.4). Authenticate the client with HTTP Basic (\`client_secret_basic\`) or in the form body (\`client_secret_post\`). Discovery: \`${oauthPaths.metadata}\`.`,
            flows: { clientCredentials: { tokenUrl: oauthPaths.token, scopes: scopeDescriptions } }
          }
        }
      }
    },
    // The scope each operation needs is the one its route declares for the token check.
    transform: ({ schema, url, route }) => {
      const scope = route.config?.scope
      if (!scope) throw new Error(`${route.method} ${url} declares no scope`)
      return { schema: { ...schema, security: [{ [SECURITY_SCHEME]: [scope] }] } as typeof schema, url }
    }
  })
  for (const plugin of routePlugins()) await app.register(plugin)
  await app.ready()
  const generated = structuredClone(app.swagger()) as unknown as Document
  await app.close()

  assertRoutesMatchRoutingTable(generated)
  return withRulesAcrossFields(extractSchemaComponents(document(generated), namedSchemas()) as Document)
}

/**
 * Rules across fields that the validators check in code, with a message naming the field, and the
 * document states in JSON Schema as well, so that clients and generators (schemathesis) know them:
 * a create names its `severity`, or a CVSS vector to derive it from.
 */
const rulesAcrossFields: Record<string, Record<string, unknown>> = {
  RecordCreate: { anyOf: [{ required: ['severity'] }, { required: ['cvss'] }] }
}

function withRulesAcrossFields (built: Document): Document {
  const schemas = built.components.schemas as Record<string, Record<string, unknown>>
  for (const [name, rules] of Object.entries(rulesAcrossFields)) {
    if (!schemas[name]) throw new Error(`no component ${name} to add rules to`)
    schemas[name] = { ...schemas[name], ...rules }
  }
  return built
}

/** The document lists exactly the routes of the routing table: no more, no fewer. */
function assertRoutesMatchRoutingTable (generated: Document) {
  const documented = Object.entries(generated.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)).sort()
  const routed = recordFunctions.flatMap((entry) => entry.routes).map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`).sort()
  if (JSON.stringify(documented) !== JSON.stringify(routed)) {
    throw new Error(`the document's routes differ from the routing table:\n  documented: ${documented.join(', ')}\n  routed:     ${routed.join(', ')}`)
  }
}

/** Adds what the route schemas cannot say: headers, examples, and the paths in routing-table order. */
function document (generated: Document): Document {
  const paths: Document['paths'] = {}
  for (const route of recordFunctions.flatMap((entry) => entry.routes)) {
    const path = route.path.replace(/:(\w+)/g, '{$1}')
    const method = route.method.toLowerCase()
    const operation = generated.paths[path]![method]!
    paths[path] = { ...paths[path], [method]: describeOperation(operation) }
  }
  // The conventional order, so the document reads top-down: what, where, which operations, then the parts.
  const { openapi, info, servers, tags, components, ...rest } = generated
  return {
    openapi,
    info,
    servers,
    tags,
    ...rest,
    paths,
    components: {
      securitySchemes: (components as { securitySchemes: unknown }).securitySchemes,
      schemas: components.schemas,
      headers: Object.fromEntries(Object.entries(headers).map(([name, header]) => [name, { ...header }]))
    }
  }
}

function describeOperation (operation: Operation): Operation {
  const docs = operationDocs[operation.operationId]
  if (!docs) throw new Error(`no documentation for operation ${operation.operationId}`)

  const parameters = operation.parameters?.map((parameter) => {
    if (parameter.in !== 'header') return parameter
    const name = headerCase(parameter.name)
    const example = docs.headerExamples?.[name]
    const schema = (parameter as { schema?: Record<string, unknown> }).schema
    return {
      ...parameter,
      name,
      ...(entityTagHeaders.includes(name) ? { schema: { ...schema, pattern: '\\S' } } : {}),
      ...(docs.requiredHeaders?.includes(name) ? { required: true } : {}),
      ...(example === undefined ? {} : { example })
    }
  }).map((parameter) => {
    // A query parameter with a default may be left out: validation fills the default in.
    const schema = (parameter as { schema?: { default?: unknown } }).schema
    return parameter.in === 'query' && schema?.default !== undefined ? { ...parameter, required: false } : parameter
  })

  const requestBody = operation.requestBody && (docs.requestExamples || docs.requestSchemas)
    ? {
        ...operation.requestBody,
        content: Object.fromEntries(Object.entries(operation.requestBody.content).map(([type, media]) => [type, {
          ...media,
          ...(docs.requestSchemas?.[type] ? { schema: docs.requestSchemas[type] } : {}),
          ...(docs.requestExamples && (docs.requestExampleTypes ?? [type]).includes(type) ? { examples: docs.requestExamples } : {})
        }]))
      }
    : operation.requestBody

  const responses: Operation['responses'] = {}
  const limits = Object.entries(problemResponses(...Object.keys(requestLimitResponses).map(Number)))
    .map(([status, response]) => [status, { ...response, description: requestLimitResponses[Number(status)]! }] as const)
  const withLimits = Object.fromEntries(Object.entries({ ...operation.responses, ...Object.fromEntries(limits) }).sort(([a], [b]) => Number(a) - Number(b)))
  for (const [status, response] of Object.entries(withLimits)) {
    const code = Number(status)
    const success = docs.responses[code]
    if (code < 400 && !success) throw new Error(`${operation.operationId}: no documentation for response ${status}`)
    const names: HeaderName[] = [...(success?.headers ?? []), ...(problemHeaders[code] ?? []), 'XRequestId']
    const responseHeaders = Object.fromEntries(names.map((name) => [headerNames[name], { $ref: `#/components/headers/${name}` }]))
    let content = response.content
    if (content && code >= 400) {
      content = { [PROBLEM_CONTENT_TYPE]: { ...content[PROBLEM_CONTENT_TYPE]!, example: problemExample(operation.operationId, code, docs.instance) } }
    } else if (content && success?.examples) {
      // The examples are JSON answers; an export (CSV, VEX, SARIF) is described by its schema.
      content = Object.fromEntries(Object.entries(content).map(([type, media]) => [type, type === 'application/json' ? { ...media, examples: success.examples } : media]))
    }
    responses[status] = { ...response, headers: responseHeaders, ...(content ? { content } : {}), ...(success?.links ? { links: success.links } : {}) }
  }

  return { ...operation, ...(parameters ? { parameters } : {}), ...(requestBody ? { requestBody } : {}), responses }
}
