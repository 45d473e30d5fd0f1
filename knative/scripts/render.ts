/**
 * Renders an overlay for knative/deploy.sh and splits it into the phases a first deploy must
 * follow, so nothing races a deadline (docs/deployment.md, "What a deploy waits for"):
 *
 *   platform.yaml        namespaces, accounts, config, the store (ScyllaCluster), eventing, ingress
 *   table-job.yaml       the create-table Job: applied once the store answers and its roles exist
 *   cronjobs.yaml        the outbox sweeper (once the table exists)
 *   services.yaml        the Knative Services (once the table exists), and one file per Service,
 *   services/<name>.yaml for `kn service create --filename`
 *   facts.env            what the deploy script needs to know about this overlay
 *
 *   node knative/scripts/render.ts <overlay> --out DIR [--image REF] [--signing-keys FILE]
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
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
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

export function renderOverlay (overlay: string): K8sObject[] {
  const dir = overlay.includes('/') ? resolve(overlay) : join(knativeDir, 'overlays', overlay)
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
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
  cronJobs: K8sObject[]
  services: K8sObject[]
}

export function phases (objects: K8sObject[]): Phases {
  const isTableJob = (object: K8sObject) => typeOf(object) === 'batch/v1/Job' && object.metadata.name === TABLE_JOB
  const isCronJob = (object: K8sObject) => typeOf(object) === 'batch/v1/CronJob'
  return {
    platform: objects.filter((object) => !isKnativeService(object) && !isTableJob(object) && !isCronJob(object)),
    tableJob: objects.filter(isTableJob),
    cronJobs: objects.filter(isCronJob),
    services: objects.filter(isKnativeService)
  }
}

/** What deploy.sh branches on. */
export function facts (objects: K8sObject[]): Record<string, string> {
  const config = objects.find((object) => typeOf(object) === 'v1/ConfigMap' && object.metadata.name.startsWith('security-records-config'))
  return {
    STORE: objects.some((object) => typeOf(object) === 'scylla.scylladb.com/v1/ScyllaCluster') ? 'alternator' : 'dynamodb',
    TABLE_NAME: config?.data?.TABLE_NAME ?? 'security-records',
    TABLE_JOB,
    NAMESPACE: 'security-records'
  }
}

const toYaml = (objects: K8sObject[]) => objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n')

export function writePhases (objects: K8sObject[], out: string): void {
  const split = phases(objects)
  mkdirSync(join(out, 'services'), { recursive: true })
  writeFileSync(join(out, 'platform.yaml'), toYaml(split.platform))
  writeFileSync(join(out, 'table-job.yaml'), toYaml(split.tableJob))
  writeFileSync(join(out, 'cronjobs.yaml'), toYaml(split.cronJobs))
  writeFileSync(join(out, 'services.yaml'), toYaml(split.services))
  for (const service of split.services) writeFileSync(join(out, 'services', `${service.metadata.name}.yaml`), toYaml([service]))
  writeFileSync(join(out, 'facts.env'), Object.entries(facts(objects)).map(([key, value]) => `${key}=${value}\n`).join(''))
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, image: { type: 'string' }, 'signing-keys': { type: 'string' } }
  })
  const [overlay] = positionals
  if (!overlay || !values.out) {
    console.error('usage: node knative/scripts/render.ts <overlay> --out DIR [--image REF] [--signing-keys FILE]')
    process.exit(2)
  }
  let objects = renderOverlay(overlay)
  if (values.image) objects = withImage(objects, values.image)
  if (values['signing-keys']) objects = withInlineJwks(objects, readFileSync(values['signing-keys'], 'utf8'))
  writePhases(objects, values.out)
}
