import { readFile } from 'node:fs/promises'
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { scopes } from '../shared/auth/auth-plugin.ts'

export interface LocalDocsOptions {
  /** The OpenAPI document to serve; the committed openapi/openapi.json when not given. */
  documentFile?: URL
}

const COMMITTED_DOCUMENT = new URL('../openapi/openapi.json', import.meta.url)

/**
 * The API documentation on the gateway's origin, as the cluster ingress serves it: the committed
 * OpenAPI document at `/openapi.json` (a test keeps it equal to the code) and Swagger UI at
 * `/docs`, whose Authorize button gets a client credentials token from the mock authorization
 * server on the same origin, so every operation can be tried from the page.
 */
const localDocs: FastifyPluginAsync<LocalDocsOptions> = async (app, options) => {
  const text = await readFile(options.documentFile ?? COMMITTED_DOCUMENT, 'utf8')
  const document = JSON.parse(text) as Record<string, unknown>

  await app.register(swagger, { mode: 'static', specification: { document: document as never } })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // The page's own CSP (scripts and styles from the same origin) instead of the API's `default-src 'none'`.
    staticCSP: true,
    // Swagger UI's default lets its own origin frame the page; X-Frame-Options: DENY (on every
    // answer) says no one may, and the two must agree.
    transformStaticCSP: (header) => header.replace("frame-ancestors 'self'", "frame-ancestors 'none'"),
    uiConfig: {
      docExpansion: 'list',
      defaultModelsExpandDepth: 1,
      displayOperationId: true,
      displayRequestDuration: true,
      tryItOutEnabled: true,
      persistAuthorization: false
    },
    // The local clients are in the document's description; the page only preselects one.
    initOAuth: { clientId: 'local-admin', scopes: Object.values(scopes) }
  })
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(text)
  })
}

export default fp(localDocs, { name: 'security-records-local-docs', fastify: '5.x' })
