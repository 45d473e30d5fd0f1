/**
 * Writes the cluster ingress — an Istio VirtualService on Knative's gateway — from the routing table
 * the local gateway uses, so the cluster routes exactly as `npm start` does. A test fails when the
 * committed file differs from what this script writes.
 *
 *   node scripts/generate-ingress.ts           # rewrite knative/base/ingress/virtual-service.yaml
 *   node scripts/generate-ingress.ts --check   # exit 1 when the committed file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { stringify } from 'yaml'
import { routingTable } from '../functions/registry.ts'
import { CLIENT_ADDRESS_HEADER } from '../functions/mock-auth/endpoints.ts'
import { PROBLEM_CONTENT_TYPE, problemBody } from '../shared/http/problem.ts'
import { ADDRESS_RATE_LIMIT, type FunctionRoute } from '../shared/routing-table.ts'

export const NAMESPACE = 'security-records'
/** Replaced per overlay with the host of AUTH_ISSUER (knative/components/public-endpoint). */
export const PLACEHOLDER_HOST = 'api.example.com'
/** Knative's public gateway (net-istio); the VirtualService binds to it. */
export const KNATIVE_GATEWAY = 'knative-serving/knative-ingress-gateway'
/** Knative's cluster-local gateway: every function is cluster-local and reached through it. */
export const LOCAL_GATEWAY_HOST = 'knative-local-gateway.istio-system.svc.cluster.local'
export const ingressFile = new URL('../knative/base/ingress/virtual-service.yaml', import.meta.url)
/** The public gateway's per-address request rate (an EnvoyFilter: Istio has no API of its own for it). */
export const rateLimitFile = new URL('../knative/base/ingress/rate-limit.yaml', import.meta.url)
/** The local cluster's ingress (test/cluster): Traefik's file provider reads these routes. */
export const traefikRoutesFile = new URL('../knative/overlays/local-cluster/traefik-routes.yaml', import.meta.url)
/** The local-cluster overlay's public host (its AUTH_ISSUER, knative/overlays/local-cluster/site/site.env). */
export const LOCAL_CLUSTER_HOST = 'api.security-records.test'

/** The same routes, in the same order, as the local gateway (local-dev/stack.ts): the registry's routing table. */
export const ingressRoutes: readonly FunctionRoute[] = routingTable

/** `/v1/records/:id` → an RE2 pattern Envoy matches against the whole path (query string excluded). */
export function pathMatch (path: string): { exact: string } | { regex: string } {
  if (!path.includes('/:')) return { exact: path }
  const pattern = path.split('/').map((segment) => segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/')
  return { regex: pattern }
}

const routeName = (route: FunctionRoute) =>
  `${route.function}-${route.method.toLowerCase()}${route.path.replace(/:[^/]+/g, 'id').replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}`.toLowerCase()

const MISSING_TOKEN_DETAIL = 'This request needs an access token (Authorization: Bearer <token>)'

/**
 * A request to an authenticated route without any Authorization header is answered by the gateway
 * itself, as the functions answer it (401, problem+json, WWW-Authenticate): it never reaches a
 * function. (Istio's own refusal would be a plain-text 403; the AuthorizationPolicy therefore
 * leaves header-less requests to this route and denies the rest that carry no valid token.)
 */
export function missingTokenRoute (routes: readonly FunctionRoute[] = ingressRoutes) {
  // Istio cannot fill in the request's path or id: the body is the problem without them.
  const { type, title, status, detail } = problemBody({ id: '' }, 'SR_INVALID_TOKEN', MISSING_TOKEN_DETAIL)
  return {
    name: 'missing-token',
    match: routes.filter((route) => route.authenticated).map((route) => ({
      method: { exact: route.method },
      uri: pathMatch(route.path),
      withoutHeaders: { authorization: {} }
    })),
    directResponse: {
      status,
      body: { string: JSON.stringify({ type, title, status, detail }) }
    },
    headers: {
      response: {
        set: {
          'content-type': PROBLEM_CONTENT_TYPE,
          'www-authenticate': `Bearer realm="security-records", error="invalid_token", error_description="${MISSING_TOKEN_DETAIL}"`,
          'cache-control': 'no-store'
        }
      }
    }
  }
}

/**
 * The client's address as the ingress gateway's Envoy trusts it: the peer, or the address its
 * `numTrustedProxies` hops of X-Forwarded-For name (Envoy "Custom request/response headers":
 * `%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`; Istio passes VirtualService header values to Envoy
 * as they are). `set` replaces whatever the client sent under the same name.
 */
export const ENVOY_CLIENT_ADDRESS = '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%'

export function virtualService (routes: readonly FunctionRoute[] = ingressRoutes) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: {
      name: 'security-records-api',
      namespace: NAMESPACE,
      labels: { 'app.kubernetes.io/part-of': 'security-records', 'app.kubernetes.io/component': 'ingress' }
    },
    spec: {
      gateways: [KNATIVE_GATEWAY],
      hosts: [PLACEHOLDER_HOST],
      http: [missingTokenRoute(routes), ...routes.map((route) => ({
        name: routeName(route),
        match: [{ method: { exact: route.method }, uri: pathMatch(route.path) }],
        // Knative routes a cluster-local service by its Host header on the local gateway.
        rewrite: { authority: `${route.function}.${NAMESPACE}.svc.cluster.local` },
        route: [{ destination: { host: LOCAL_GATEWAY_HOST, port: { number: 80 } } }],
        headers: { request: { set: { [CLIENT_ADDRESS_HEADER]: ENVOY_CLIENT_ADDRESS } } },
        // Retry only what never reached a function: a retried POST could create a record twice.
        retries: { attempts: 2, retryOn: 'connect-failure,refused-stream' }
      }))]
    }
  }
}

const RATE_LIMITED_DETAIL = `This address makes more than ${ADDRESS_RATE_LIMIT.perSecond} requests per second; retry after the seconds in Retry-After`

/**
 * The edge's per-address rate (ADDRESS_RATE_LIMIT, as the local gateway applies it) on the public
 * gateway's Envoy: its local rate limit filter, one token bucket per client address — the address
 * Envoy trusts, as for x-client-address — kept by the filter's wildcard descriptor (Envoy 1.34+,
 * Istio 1.26+). Each gateway pod keeps its own buckets: N pods allow N times the rate. A refused
 * request gets the API's 429 problem+json with Retry-After (the connection manager's local reply
 * mapper; Envoy's own body is plain text), and never reaches a function.
 */
export function rateLimitFilter () {
  const { type, title, status } = problemBody({ id: '' }, 'SR_RATE_LIMITED', RATE_LIMITED_DETAIL)
  const connectionManager = { filter: { name: 'envoy.filters.network.http_connection_manager' } }
  const always = (key: string) => ({ runtime_key: key, default_value: { numerator: 100, denominator: 'HUNDRED' } })
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: {
      name: 'security-records-rate-limit',
      namespace: 'istio-system',
      labels: { 'app.kubernetes.io/part-of': 'security-records', 'app.kubernetes.io/component': 'ingress' }
    },
    spec: {
      // The public gateway's pods only, like the RequestAuthentication (knative/cluster/istio).
      workloadSelector: { labels: { istio: 'ingressgateway' } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { context: 'GATEWAY', listener: { filterChain: { filter: { ...connectionManager.filter, subFilter: { name: 'envoy.filters.http.router' } } } } },
          patch: {
            operation: 'INSERT_BEFORE',
            value: {
              name: 'envoy.filters.http.local_ratelimit',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
                stat_prefix: 'per_address_rate_limit',
                filter_enabled: always('security_records_rate_limit_enabled'),
                filter_enforced: always('security_records_rate_limit_enforced'),
                // No bucket for all addresses together: only each address's own is consumed.
                always_consume_default_token_bucket: false,
                rate_limits: [{ actions: [{ remote_address: {} }] }],
                descriptors: [{
                  // No value: a wildcard, one bucket per address seen.
                  entries: [{ key: 'remote_address' }],
                  token_bucket: { max_tokens: ADDRESS_RATE_LIMIT.burst, tokens_per_fill: ADDRESS_RATE_LIMIT.perSecond, fill_interval: '1s' }
                }],
                max_dynamic_descriptors: 100_000,
                response_headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'retry-after', value: '1' } }]
              }
            }
          }
        },
        {
          applyTo: 'NETWORK_FILTER',
          match: { context: 'GATEWAY', listener: { filterChain: connectionManager } },
          patch: {
            operation: 'MERGE',
            value: {
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                local_reply_config: {
                  mappers: [{
                    // Envoy's own replies only (an upstream's 429 is passed on as it is).
                    filter: { status_code_filter: { comparison: { op: 'EQ', value: { default_value: status, runtime_key: 'security_records_rate_limited_status' } } } },
                    headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'cache-control', value: 'no-store' } }],
                    body_format_override: { json_format: { type, title, status, detail: RATE_LIMITED_DETAIL }, content_type: PROBLEM_CONTENT_TYPE }
                  }]
                }
              }
            }
          }
        }
      ]
    }
  }
}

const GENERATED_HEADER = [
  '# GENERATED by scripts/generate-ingress.ts from the routing table of functions/registry.ts',
  '# (the table the local gateway routes by). Do not edit: run `npm run manifests`.'
]

export function renderIngress (routes: readonly FunctionRoute[] = ingressRoutes): string {
  return [...GENERATED_HEADER, stringify(virtualService(routes), { lineWidth: 0 })].join('\n')
}

export function renderRateLimit (): string {
  const header = [
    '# GENERATED by scripts/generate-ingress.ts from ADDRESS_RATE_LIMIT in shared/routing-table.ts',
    '# (the rate the local gateway holds each address to). Do not edit: run `npm run manifests`.'
  ]
  return [...header, stringify(rateLimitFilter(), { lineWidth: 0 })].join('\n')
}

/** `/v1/records/:id` → a Go regexp over the whole path, for Traefik's PathRegexp matcher. */
const traefikPath = (path: string) => {
  const match = pathMatch(path)
  return 'exact' in match ? `Path(\`${match.exact}\`)` : `PathRegexp(\`^${match.regex}$\`)`
}

/**
 * The same routes for the local cluster's Traefik (its file provider; test/cluster/platform/traefik.yaml):
 * each route goes to the function's cluster-local address with that address as its Host, which
 * Traefik's Knative provider routes on its private entry point, as Istio's local gateway does.
 */
export function traefikRoutes (routes: readonly FunctionRoute[] = ingressRoutes) {
  const routers: Record<string, unknown> = {}
  const services: Record<string, unknown> = {}
  for (const route of routes) {
    routers[routeName(route)] = {
      entryPoints: ['web'],
      rule: `Host(\`${LOCAL_CLUSTER_HOST}\`) && Method(\`${route.method}\`) && ${traefikPath(route.path)}`,
      middlewares: ['rate-limit-per-address', 'drop-client-address'],
      service: route.function
    }
    services[route.function] = {
      loadBalancer: { passHostHeader: false, servers: [{ url: `http://${route.function}.${NAMESPACE}.svc.cluster.local` }] }
    }
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'security-records-routes',
      namespace: 'traefik',
      labels: { 'app.kubernetes.io/part-of': 'security-records', 'app.kubernetes.io/component': 'ingress' }
    },
    // Traefik cannot stamp the caller's address into a header as Envoy does; an empty value removes
    // what a client sent under that name, so mock-auth counts by the forwarded address instead.
    data: {
      'routes.yaml': stringify({
        http: {
          routers,
          services,
          middlewares: {
            // The edge's per-address rate, as the local gateway and the Istio ingress apply it. Traefik
            // delays a request over it for as long as its bucket takes to refill, past that a 429; by
            // the connection's remote address (no X-Forwarded-For is believed).
            'rate-limit-per-address': { rateLimit: { average: ADDRESS_RATE_LIMIT.perSecond, period: '1s', burst: ADDRESS_RATE_LIMIT.burst } },
            'drop-client-address': { headers: { customRequestHeaders: { [CLIENT_ADDRESS_HEADER]: '' } } }
          }
        }
      }, { lineWidth: 0 })
    }
  }
}

export function renderTraefikRoutes (routes: readonly FunctionRoute[] = ingressRoutes): string {
  return [...GENERATED_HEADER, stringify(traefikRoutes(routes), { lineWidth: 0 })].join('\n')
}

const generated = [
  { file: ingressFile, render: renderIngress },
  { file: rateLimitFile, render: renderRateLimit },
  { file: traefikRoutesFile, render: renderTraefikRoutes }
]

if (import.meta.main) {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } })
  const name = (file: URL) => file.pathname.slice(file.pathname.indexOf('/knative/') + 1)
  const stale = generated.filter(({ file, render }) => {
    let current = ''
    try { current = readFileSync(file, 'utf8') } catch {}
    return current !== render()
  })
  if (values.check) {
    for (const { file } of stale) console.error(`${name(file)} is stale: run \`npm run manifests\``)
    process.exit(stale.length > 0 ? 1 : 0)
  }
  for (const { file, render } of generated) writeFileSync(file, render())
  console.log(`wrote ${ingressRoutes.length} routes to ${generated.map(({ file }) => name(file)).join(' and ')}`)
}
