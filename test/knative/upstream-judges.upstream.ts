/**
 * The real things as judges: the admission code Knative's webhooks run (knative.dev/serving and
 * knative.dev/eventing v0.45.0 = release knative-v1.18.0), the kn CLI of that release writing what
 * knative/kn-deploy.sh would apply (`kn --target`), and actionlint on every workflow. Built from the
 * Go module proxy by test/knative/upstream/build.sh (cached). They need Go 1.25+ and shellcheck, so
 * they are a suite of their own, `npm run test:upstream`, which .ci/run runs after installing both.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse, stringify } from 'yaml'
import { renderOverlay, typeOf, type K8sObject } from '../../knative/scripts/render.ts'
import { ensureKubectl } from '../../scripts/kubectl.ts'
import { admit, upstreamTools } from './upstream/tools.ts'

t.setTimeout(30 * 60 * 1000)
const root = new URL('../../', import.meta.url).pathname
const overlays = ['gke', 'aks', 'eks', 'kind'] as const
const KNATIVE_KINDS = ['serving.knative.dev/v1/Service', 'eventing.knative.dev/v1/Broker', 'eventing.knative.dev/v1/Trigger', 'sources.knative.dev/v1/SinkBinding', 'eventing.knative.dev/v1alpha1/EventPolicy']
ensureKubectl()
const tools = upstreamTools()
const work = mkdtempSync(join(tmpdir(), 'security-records-judges-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

/** kn drops empty lists (an `env: []` the render leaves); they mean the same. */
const withoutEmptyLists = (value: unknown) => JSON.parse(JSON.stringify(value, (_key, member) => Array.isArray(member) && member.length === 0 ? undefined : member))

const write = (name: string, objects: K8sObject[]) => {
  const file = join(work, name)
  writeFileSync(file, objects.map((object) => stringify(object)).join('---\n'))
  return file
}

t.test('the judge is live: it refuses the readiness probe the webhook refuses', async (t) => {
  const [service] = renderOverlay('kind').filter((object) => typeOf(object) === 'serving.knative.dev/v1/Service')
  const before = structuredClone(service!)
  // What knative/base/functions/defaults.patch.yaml rendered before the fix.
  before.spec.template.spec.containers[0].readinessProbe = { httpGet: { path: '/healthz', port: 8080 }, successThreshold: 1, timeoutSeconds: 2 }
  const { status, verdicts } = admit(tools.admit, [write('old-probe.yaml', [before])])
  t.equal(status, 1, 'admit exits 1')
  t.match(verdicts[0]?.errors.join('\n'), /timeoutSeconds is disallowed when periodSeconds is zero: spec\.template\.spec\.containers\[0\]\.readinessProbe\.timeoutSeconds/)
  const unknown = structuredClone(service!)
  unknown.spec.template.spec.containers[0].startupDelay = 5
  t.match(admit(tools.admit, [write('unknown-field.yaml', [unknown])]).verdicts[0]?.errors.join('\n'), /unknown field "startupDelay"/, 'unknown fields are refused, as the webhook decodes strictly')
})

/** What docs/deployment.md has the operator set in knative-eventing's config-features. */
const EVENTING_FEATURES = ['authentication-oidc=enabled']

t.test('the judge is live: without authentication-oidc, Knative refuses the EventPolicies (so a deploy without the flag stops at once)', async (t) => {
  const policies = renderOverlay('kind').filter((object) => typeOf(object) === 'eventing.knative.dev/v1alpha1/EventPolicy')
  t.ok(policies.length >= 2, 'the broker\'s and ingest-finding\'s policies are rendered')
  const { status, verdicts } = admit(tools.admit, [write('policies.yaml', policies)])
  t.equal(status, 1)
  for (const verdict of verdicts) t.match(verdict.errors.join('\n'), /oidc-authentication feature not enabled/, verdict.name)
  const [policy] = policies
  const wildcard = structuredClone(policy!)
  wildcard.spec.from = [{ sub: 'system:serviceaccount:*:scanner' }]
  t.match(admit(tools.admit, [write('wildcard.yaml', [wildcard])], EVENTING_FEATURES).verdicts[0]?.errors.join('\n'), /'\*' is only allowed as suffix/,
    'with the feature on, the real rules still apply')
})

for (const overlay of overlays) {
  t.test(`overlay ${overlay}: Knative's defaulting and validation admit every Knative object, on create and on re-apply`, async (t) => {
    const objects = renderOverlay(overlay)
    const { status, verdicts, stderr } = admit(tools.admit, [write(`${overlay}.yaml`, objects)], EVENTING_FEATURES)
    const judged = verdicts.filter((verdict) => !verdict.skipped)
    t.same(judged.map((verdict) => `${verdict.kind} ${verdict.name}`).sort(),
      objects.filter((object) => KNATIVE_KINDS.includes(typeOf(object))).map((object) => `${typeOf(object)} ${object.metadata.name}`).sort(),
      'every Service, Broker, Trigger, SinkBinding and EventPolicy was judged')
    for (const verdict of judged) t.same(verdict.errors, [], `${verdict.kind} ${verdict.name}`)
    t.equal(status, 0, stderr)
  })

  t.test(`overlay ${overlay}: knative/kn-deploy.sh's kn commands, run offline (kn --target), write Services Knative admits`, async (t) => {
    const target = join(work, `kn-${overlay}`)
    const run = spawnSync('bash', [join(root, 'knative/kn-deploy.sh'), overlay, '--target', target], {
      encoding: 'utf8', env: { ...process.env, PATH: `${tools.dir}:${process.env.PATH}` }
    })
    t.equal(run.status, 0, run.stderr)
    const written = join(target, 'kn/security-records/ksvc')
    const files = readdirSync(written).map((file) => join(written, file)).sort()
    const rendered = renderOverlay(overlay).filter((object) => typeOf(object) === 'serving.knative.dev/v1/Service')
    t.same(files.map((file) => file.split('/').at(-1)), rendered.map((svc) => `${svc.metadata.name}.yaml`).sort(), 'kn wrote every Service')
    const { status, verdicts } = admit(tools.admit, files)
    for (const verdict of verdicts) t.same(verdict.errors, [], `kn's ${verdict.name}`)
    t.equal(status, 0)
    for (const svc of rendered) {
      const fromKn = parse(readFileSync(join(written, `${svc.metadata.name}.yaml`), 'utf8'))
      t.same(withoutEmptyLists(fromKn.spec.template.spec), withoutEmptyLists(svc.spec.template.spec), `${svc.metadata.name}: kn kept the pod spec as rendered`)
      t.same(fromKn.metadata.labels, svc.metadata.labels, `${svc.metadata.name}: and the labels (visibility, emits-events)`)
      t.notOk(fromKn.spec.template.metadata.name, `${svc.metadata.name}: revision names left to the server (--revision-name "")`)
    }
  })
}

t.test('actionlint finds nothing in any workflow', async (t) => {
  const workflows = readdirSync(join(root, '.github/workflows')).filter((file) => /\.ya?ml$/.test(file)).map((file) => join(root, '.github/workflows', file))
  const run = spawnSync(tools.actionlint, ['-no-color', '-format', '{{json .}}', ...workflows], { encoding: 'utf8' })
  const findings = JSON.parse(run.stdout || '[]') as Array<{ message: string, filepath: string, line: number, kind: string }>
  t.same(findings.map((finding) => `${finding.filepath.replace(root, '')}:${finding.line} [${finding.kind}] ${finding.message}`), [])
  t.equal(run.status, 0, run.stderr)
  // actionlint checks run: blocks only when shellcheck is installed (.ci/run installs it).
  const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' })
  t.equal(shellcheck.status, 0, 'shellcheck is installed, so actionlint checked every run: block with it')
})
