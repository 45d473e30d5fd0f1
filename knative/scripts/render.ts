/**
 * Renders an overlay for knative/deploy.sh and splits it into the phases a first deploy must
 * follow, so nothing races a deadline (docs/deployment.md, "What a deploy waits for"):
 *
 *   platform.yaml        namespaces, accounts, config, the store, network policies, ingress
 *   table-job.yaml       the create-table Job: applied once the store answers and its roles exist
 *   dead-letters.yaml    the Broker's dead-letter sink (a Knative Service): Ready before the Broker
 *   eventing.yaml        Broker, Trigger, SinkBindings, EventPolicies: Ready before the functions
 *   cronjobs.yaml        the outbox sweeper (once the table exists)
 *   services.yaml        the functions' Knative Services (once the table exists), and one file per
 *   services/<name>.yaml Service (dead-letters/<name>.yaml for the sink) for `kn service create --filename`
 *   facts.env            what the deploy script needs to know about this overlay
 *
 *   node knative/scripts/render.ts <overlay> --out DIR [--image REF] [--signing-keys FILE] [--config KEY=VALUE]…
 *
 * --config merges a setting into the functions' ConfigMap through Kustomize's generator (a wrapper
 * kustomization around the overlay), so its hashed name, and every reference to it, changes with it:
 * a new value rolls out new revisions, which a patch of the generated ConfigMap would not do.
 *
 * --image swaps every container image (a tag or, better, name@sha256:digest).
 * --signing-keys (mock-auth's private JWK set, from the Secret security-records-auth) replaces the
 * gateway's jwksUri with the public keys inline, so Istio never fetches keys from mock-auth, which
 * scales to zero (a failed fetch leaves istiod with a key set that rejects every
 * token until its next refresh). With your own identity provider (AUTH_JWKS_URL elsewhere) the
 * jwksUri stays.
 */
import { spawnSync } from 'node:child_process'
import { createPublicKey } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseAllDocuments, stringify } from 'yaml'

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  spec?: any
  data?: Record<string, string>
  [key: string]: unknown
}

const knativeDir = resolve(import.meta.dirname, '..')
export const TABLE_JOB = 'security-records-create-table'
/** The JWKS address of the in-cluster mock-auth (knative/base/config.env). */
export const MOCK_AUTH_JWKS = /^http:\/\/mock-auth\.security-records\.svc\.cluster\.local\//

export const typeOf = (object: K8sObject) => `${object.apiVersion}/${object.kind}`
const isKnativeService = (object: K8sObject) => typeOf(object) === 'serving.knative.dev/v1/Service'

const CONFIG_MAP = 'security-records-config'
const SETTING = /^[A-Z][A-Z0-9_]*=[^\n]*$/

export function renderOverlay (overlay: string, settings: readonly string[] = []): K8sObject[] {
  let dir = overlay.includes('/') ? resolve(overlay) : join(knativeDir, 'overlays', overlay)
  let wrapper: string | undefined
  if (settings.length > 0) {
    for (const setting of settings) if (!SETTING.test(setting)) throw new Error(`--config ${setting}: not KEY=VALUE`)
    wrapper = mkdtempSync(join(tmpdir(), 'security-records-render-'))
    writeFileSync(join(wrapper, 'kustomization.yaml'), stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [relative(wrapper, dir)],
      configMapGenerator: [{ name: CONFIG_MAP, namespace: 'security-records', behavior: 'merge', literals: settings }]
    }))
    dir = wrapper
  }
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  if (wrapper) rmSync(wrapper, { recursive: true, force: true })
  if (result.error) throw new Error(`kubectl kustomize ${dir}: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`)
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject).filter(Boolean)
}

/** Every pod template of the rendered objects (Knative Services, Jobs, CronJobs). */
export function podSpecs (objects: K8sObject[]): Array<{ owner: K8sObject, pod: any }> {
  return objects.flatMap((object) => {
    if (isKnativeService(object) || typeOf(object) === 'batch/v1/Job') return [{ owner: object, pod: object.spec.template.spec }]
    if (typeOf(object) === 'batch/v1/CronJob') return [{ owner: object, pod: object.spec.jobTemplate.spec.template.spec }]
    return []
  })
}

/** `name[:tag][@sha256:digest]`; a registry port (host:5000/x) is not a tag. */
export function parseImageRef (ref: string): { name: string, tag?: string, digest?: string } {
  const [withoutDigest, digest] = ref.split('@') as [string, string | undefined]
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`${ref}: the digest is not sha256:<64 hex>`)
  const slash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.lastIndexOf(':')
  const name = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest
  const tag = colon > slash ? withoutDigest.slice(colon + 1) : undefined
  if (!/^[a-z0-9]+([._/:-][a-z0-9]+)*$/.test(name)) throw new Error(`${ref}: not an image name`)
  if (tag === undefined && digest === undefined) throw new Error(`${ref}: name a tag or a digest`)
  return { name, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) }
}

export function withImage (objects: K8sObject[], ref: string): K8sObject[] {
  parseImageRef(ref)
  const copy = structuredClone(objects)
  for (const { pod } of podSpecs(copy)) for (const container of pod.containers) container.image = ref
  return copy
}

/** A JSON Web Key (RFC 7517) as mock-auth's signing key set holds it. */
type Jwk = Record<string, unknown>
const PUBLIC_MEMBERS = ['kid', 'alg', 'use'] as const

/** The public half of mock-auth's signing key set (what its /oauth2/jwks publishes). */
export function publicJwks (privateSet: string): { keys: Jwk[] } {
  const { keys } = JSON.parse(privateSet) as { keys?: Jwk[] }
  if (!Array.isArray(keys) || keys.length === 0) throw new Error('the signing key set has no keys')
  return {
    keys: keys.map((jwk) => {
      const publicKey: Jwk = { ...createPublicKey({ key: jwk as never, format: 'jwk' }).export({ format: 'jwk' }) }
      for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) publicKey[member] = jwk[member]
      return publicKey
    })
  }
}

/** The gateway's JWT rule checks tokens against these keys instead of fetching mock-auth's JWKS. */
export function withInlineJwks (objects: K8sObject[], privateSet: string): K8sObject[] {
  const jwks = JSON.stringify(publicJwks(privateSet))
  const copy = structuredClone(objects)
  for (const object of copy.filter((candidate) => typeOf(candidate) === 'security.istio.io/v1/RequestAuthentication')) {
    for (const rule of object.spec.jwtRules) {
      if (!MOCK_AUTH_JWKS.test(rule.jwksUri ?? '')) continue
      delete rule.jwksUri
      rule.jwks = jwks
    }
  }
  return copy
}

export interface Phases {
  platform: K8sObject[]
  tableJob: K8sObject[]
  deadLetters: K8sObject[]
  eventing: K8sObject[]
  cronJobs: K8sObject[]
  services: K8sObject[]
}

/** The Broker's dead-letter sink: the Knative Service its `delivery.deadLetterSink` names. */
export const DEAD_LETTERS = 'dead-letters'
const EVENTING_KINDS = new Set(['eventing.knative.dev/v1/Broker', 'eventing.knative.dev/v1/Trigger', 'sources.knative.dev/v1/SinkBinding', 'eventing.knative.dev/v1alpha1/EventPolicy'])

export function phases (objects: K8sObject[]): Phases {
  const isTableJob = (object: K8sObject) => typeOf(object) === 'batch/v1/Job' && object.metadata.name === TABLE_JOB
  const isCronJob = (object: K8sObject) => typeOf(object) === 'batch/v1/CronJob'
  const isDeadLetters = (object: K8sObject) => isKnativeService(object) && object.metadata.name === DEAD_LETTERS
  const isEventing = (object: K8sObject) => EVENTING_KINDS.has(typeOf(object))
  return {
    platform: objects.filter((object) => !isKnativeService(object) && !isTableJob(object) && !isCronJob(object) && !isEventing(object)),
    tableJob: objects.filter(isTableJob),
    deadLetters: objects.filter(isDeadLetters),
    eventing: objects.filter(isEventing),
    cronJobs: objects.filter(isCronJob),
    services: objects.filter((object) => isKnativeService(object) && !isDeadLetters(object))
  }
}

/** The functions' settings (the generated ConfigMap's data). */
export const configData = (objects: K8sObject[]): Record<string, string> =>
  objects.find((object) => typeOf(object) === 'v1/ConfigMap' && object.metadata.name.startsWith(CONFIG_MAP))?.data ?? {}

/** What deploy.sh branches on. */
export function facts (objects: K8sObject[]): Record<string, string> {
  const config = { data: configData(objects) }
  const storeDeployments = objects.filter((object) => typeOf(object) === 'apps/v1/Deployment' && object.metadata.labels?.['app.kubernetes.io/component'] === 'store')
  return {
    STORE: objects.some((object) => typeOf(object) === 'scylla.scylladb.com/v1/ScyllaCluster') ? 'alternator' : 'dynamodb',
    // A store the overlay runs itself (the local cluster's DynamoDB Local): waited for before the Job.
    STORE_DEPLOYMENTS: storeDeployments.map((deployment) => deployment.metadata.name).join(' '),
    // Istio overlays need Knative's Istio gateways; the local cluster routes through Traefik.
    INGRESS: objects.some((object) => object.apiVersion.startsWith('networking.istio.io/')) ? 'istio' : 'knative',
    TABLE_NAME: config?.data?.TABLE_NAME ?? 'security-records',
    TABLE_JOB,
    NAMESPACE: 'security-records'
  }
}

const toYaml = (objects: K8sObject[]) => objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n')

export function writePhases (objects: K8sObject[], out: string): void {
  const split = phases(objects)
  mkdirSync(join(out, 'services'), { recursive: true })
  mkdirSync(join(out, 'dead-letters'), { recursive: true })
  writeFileSync(join(out, 'platform.yaml'), toYaml(split.platform))
  writeFileSync(join(out, 'table-job.yaml'), toYaml(split.tableJob))
  writeFileSync(join(out, 'dead-letters.yaml'), toYaml(split.deadLetters))
  writeFileSync(join(out, 'eventing.yaml'), toYaml(split.eventing))
  writeFileSync(join(out, 'cronjobs.yaml'), toYaml(split.cronJobs))
  writeFileSync(join(out, 'services.yaml'), toYaml(split.services))
  for (const service of split.services) writeFileSync(join(out, 'services', `${service.metadata.name}.yaml`), toYaml([service]))
  for (const service of split.deadLetters) writeFileSync(join(out, 'dead-letters', `${service.metadata.name}.yaml`), toYaml([service]))
  writeFileSync(join(out, 'facts.env'), Object.entries(facts(objects)).map(([key, value]) => `${key}=${value}\n`).join(''))
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, image: { type: 'string' }, 'signing-keys': { type: 'string' }, config: { type: 'string', multiple: true } }
  })
  const [overlay] = positionals
  if (!overlay || !values.out) {
    console.error('usage: node knative/scripts/render.ts <overlay> --out DIR [--image REF] [--signing-keys FILE] [--config KEY=VALUE]…')
    process.exit(2)
  }
  const settings = values.config ?? []
  let objects = renderOverlay(overlay, settings)
  const signingKeys = values['signing-keys'] === undefined ? undefined : readFileSync(values['signing-keys'], 'utf8')
  // The functions too check mock-auth's tokens against its public keys inline (AUTH_JWKS_JSON):
  // none waits for a mock-auth that scaled to zero before it can answer its first request.
  if (signingKeys !== undefined && MOCK_AUTH_JWKS.test(configData(objects).AUTH_JWKS_URL ?? '') && configData(objects).AUTH_JWKS_JSON === undefined) {
    objects = renderOverlay(overlay, [...settings, `AUTH_JWKS_JSON=${JSON.stringify(publicJwks(signingKeys))}`])
  }
  if (values.image) objects = withImage(objects, values.image)
  if (signingKeys !== undefined) objects = withInlineJwks(objects, signingKeys)
  writePhases(objects, values.out)
}
