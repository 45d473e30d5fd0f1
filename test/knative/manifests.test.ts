import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service'
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService'
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy'
import { RequestAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication'
import { Job } from 'kubernetes-models/batch/v1/Job'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { IngestConfigSchema } from '../../functions/ingest-finding/config.ts'
import { MockAuthConfigSchema } from '../../functions/mock-auth/config.ts'
import { CreateTableConfigSchema } from '../../scripts/create-table.ts'
import { ingressFile, ingressRoutes, LOCAL_GATEWAY_HOST, NAMESPACE, renderIngress } from '../../scripts/generate-ingress.ts'
import { ConfigSchema } from '../../shared/config.ts'

const root = new URL('../../', import.meta.url).pathname
const overlays = ['gke', 'aks', 'eks', 'kind'] as const
const inClusterStore = new Set(['gke', 'aks', 'kind'])

/** The seven functions of the design, plus any the repository grows. */
const functionNames = [...new Set([
  'create-record', 'get-record', 'list-records', 'update-record', 'delete-record', 'mock-auth', 'ingest-finding',
  ...readdirSync(join(root, 'functions'), { withFileTypes: true })
    .filter((dirent) => dirent.isDirectory() && existsSync(join(root, 'functions', dirent.name, 'index.ts')))
    .map((dirent) => dirent.name)
])].sort()

/** Secrets the operator creates (docs/deployment.md); the manifests may reference these keys and no others. */
const documentedSecrets: Record<string, string[]> = {
  'security-records-cursor': ['CURSOR_SECRET'],
  'security-records-auth': ['signing-keys.json', 'clients.json'],
  'security-records-store': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  'security-records-store-bootstrap': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']
}

/** The settings schema each function loads at start-up (record functions: shared/config.ts). */
const settingsOf: Record<string, typeof ConfigSchema | typeof MockAuthConfigSchema | typeof IngestConfigSchema> = {
  'mock-auth': MockAuthConfigSchema,
  'ingest-finding': IngestConfigSchema
}

const SECRET_NAME = /SECRET|PASSW|TOKEN|PRIVATE|CREDENTIAL|ACCESS_KEY|API_KEY|SIGNING_KEYS|CLIENTS_JSON/i
const SECRET_VALUE = [/-----BEGIN/, /"d"\s*:/, /\bAKIA[0-9A-Z]{16}\b/, /^[A-Za-z0-9+/_=-]{32,}$/, /scrypt\$/]

interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  spec?: any
  data?: Record<string, string>
  [key: string]: unknown
}

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' })
if (kubectl.error || kubectl.status !== 0) {
  t.fail('kubectl is needed to render the Kustomize overlays (`kubectl kustomize`); .ci/run installs it when missing — see docs/deployment.md')
  t.end()
  process.exit(1)
}

function render (dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`)
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject).filter(Boolean)
}

const rendered = Object.fromEntries(overlays.map((overlay) => [overlay, render(`knative/overlays/${overlay}`)])) as Record<typeof overlays[number], K8sObject[]>

const ajv = new Ajv({ allErrors: true, strict: false })
const scyllaCluster = ajv.compile(JSON.parse(readFileSync(new URL('./schemas/scyllacluster.v1.schema.json', import.meta.url), 'utf8')))

type Validator = (object: K8sObject) => void
const modelValidator = (Model: new (data: any) => { validate (): void }): Validator => (object) => new Model(object).validate()
const validators: Record<string, Validator> = {
  'v1/Namespace': modelValidator(Namespace),
  'v1/ServiceAccount': modelValidator(ServiceAccount),
  'v1/ConfigMap': modelValidator(ConfigMap),
  'batch/v1/Job': modelValidator(Job),
  'serving.knative.dev/v1/Service': modelValidator(KnativeService),
  'networking.istio.io/v1/VirtualService': modelValidator(VirtualService),
  'security.istio.io/v1/RequestAuthentication': modelValidator(RequestAuthentication),
  'security.istio.io/v1/AuthorizationPolicy': modelValidator(AuthorizationPolicy),
  'scylla.scylladb.com/v1/ScyllaCluster': (object) => {
    if (!scyllaCluster(object)) throw new Error(ajv.errorsText(scyllaCluster.errors))
  }
}
const clusterScoped = new Set(['v1/Namespace'])
const typeOf = (object: K8sObject) => `${object.apiVersion}/${object.kind}`
const find = (objects: K8sObject[], type: string, name?: string) => objects.filter((object) => typeOf(object) === type && (name === undefined || object.metadata.name === name))

function podSpecs (objects: K8sObject[]): Array<{ owner: string, pod: any }> {
  return [
    ...find(objects, 'serving.knative.dev/v1/Service').map((svc) => ({ owner: `ksvc/${svc.metadata.name}`, pod: svc.spec.template.spec })),
    ...find(objects, 'batch/v1/Job').map((job) => ({ owner: `job/${job.metadata.name}`, pod: job.spec.template.spec }))
  ]
}

function functionsConfig (objects: K8sObject[]): Record<string, string> {
  const [config] = find(objects, 'v1/ConfigMap').filter((map) => map.metadata.name.startsWith('security-records-config-'))
  if (!config) throw new Error('no security-records-config ConfigMap rendered')
  return config.data ?? {}
}

t.test('the committed ingress is what scripts/generate-ingress.ts writes from the routing table', async (t) => {
  t.equal(readFileSync(ingressFile, 'utf8'), renderIngress(), 'knative/base/ingress/virtual-service.yaml is stale: run `npm run manifests`')
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

    t.test('every function is a scale-to-zero Knative Service reached only through the ingress', async (t) => {
      const services = find(objects, 'serving.knative.dev/v1/Service')
      t.same(services.map((svc) => svc.metadata.name).sort(), functionNames)
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
        t.same(container.args, [`dist/functions/${name}/index.mjs`], `${name} runs its own bundle`)
        t.same(container.readinessProbe?.httpGet?.path, '/healthz', `${name} has a readiness probe on /healthz`)
        t.equal(svc.spec.template.spec.serviceAccountName, 'security-records-functions')
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
      t.equal(images.size, 1, `one image for every function and the job: ${[...images].join(', ')}`)
      const [image] = [...images]
      t.notMatch(image, /:latest$|^security-records$/, 'the overlay names a real, non-latest image')
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

    t.test('the table bootstrap Job runs the create-table bundle from the same image', async (t) => {
      const [job] = find(objects, 'batch/v1/Job', 'security-records-create-table')
      t.same(job?.spec.template.spec.containers[0].args, ['dist/jobs/create-table/index.mjs'])
      t.equal(job?.spec.template.spec.serviceAccountName, 'security-records-bootstrap')
      t.ok(job?.spec.ttlSecondsAfterFinished, 'is cleaned up, so the next deploy can run it again')
    })

    if (inClusterStore.has(overlay)) {
      t.test('the store is ScyllaDB Alternator in the cluster, authorization enforced, reached over TLS', async (t) => {
        const [cluster] = find(objects, 'scylla.scylladb.com/v1/ScyllaCluster')
        t.equal(cluster?.spec.alternator.writeIsolation, 'always')
        t.not(cluster?.spec.alternator.insecureDisableAuthorization, true, 'authorization is enforced')
        t.not(cluster?.spec.alternator.insecureEnableHTTP, true, 'no plain-HTTP port')
        t.ok(cluster?.spec.datacenter.racks[0].storage.storageClassName, 'the overlay picks a storage class')
        const config = functionsConfig(objects)
        t.match(config.DYNAMODB_ENDPOINT, /^https:\/\/security-records-client\.scylla\.svc\.cluster\.local:8043$/)
        for (const { owner, pod } of podSpecs(objects)) {
          const names = pod.containers[0].env.map((env: { name: string }) => env.name)
          t.ok(names.includes('AWS_ACCESS_KEY_ID') && names.includes('AWS_SECRET_ACCESS_KEY'), `${owner} signs with a role's credentials`)
          t.ok(pod.volumes?.some((volume: any) => volume.configMap?.name === 'security-records-store-ca'), `${owner} trusts the store's CA`)
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
          t.match(account.metadata.annotations?.['eks.amazonaws.com/role-arn'], /^arn:aws:iam::\d{12}:role\//, `${account.metadata.name} assumes an IAM role`)
        }
      })
    }
  })
}

t.test('kn-deploy.sh is valid bash', async (t) => {
  const result = spawnSync('bash', ['-n', join(root, 'knative/kn-deploy.sh')], { encoding: 'utf8' })
  t.equal(result.status, 0, result.stderr)
})
