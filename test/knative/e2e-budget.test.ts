/**
 * The e2e cluster's CPU budget (.github/workflows/e2e.yml runs everything on one kind node of the
 * runner), computed from what is scheduled: the rendered kind overlay and knative/cluster/istio, the
 * add-ons' own Deployments at the pinned releases (taken from their Go modules by
 * test/knative/upstream/crds/build.sh), and what e2e.yml scales and resizes. Only what no module
 * holds is written here, each with its source.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { podSpecs, renderOverlay, typeOf, type K8sObject } from '../../knative/scripts/render.ts'
import { crdJudge } from './upstream/tools.ts'

const root = new URL('../../', import.meta.url).pathname
const e2e = readFileSync(join(root, '.github/workflows/e2e.yml'), 'utf8')
const { release } = crdJudge()

/** The runner's one kind node: ubuntu-24.04 in a public repository (GitHub's hosted runner reference). */
const RUNNER_MILLICPU = 4000

/** What no pinned module holds, in millicpu. */
const WRITTEN = {
  // kind v0.27.0's node image (kubeadm's static pods and kind's manifests): etcd 100m, kube-apiserver
  // 250m, kube-controller-manager 200m, kube-scheduler 100m, CoreDNS 2 × 100m, kindnet 100m.
  'kind control plane': 950,
  // net-istio knative-v1.18.0 config/400-controller.yaml 30m, config/500-webhook-deployment.yaml 20m
  // (knative.dev/net-istio is not served by the Go module proxy).
  'net-istio controller and webhook': 50
}

const milli = (cpu: unknown): number => {
  if (cpu === undefined || cpu === null) return 0
  const text = String(cpu)
  return text.endsWith('m') ? Number(text.slice(0, -1)) : Math.round(Number(text) * 1000)
}
/** A container's CPU request; without one, Kubernetes takes its limit. */
const requestOf = (resources: any) => milli(resources?.requests?.cpu ?? resources?.limits?.cpu)
/** A pod's CPU request: its containers' sum, or its largest init container if that is more. */
const podRequest = (pod: any) => Math.max((pod.containers ?? []).reduce((sum: number, container: any) => sum + requestOf(container.resources), 0),
  ...(pod.initContainers ?? []).map((container: any) => requestOf(container.resources)))

const releaseObjects = (file: string) => parseAllDocuments(readFileSync(join(release, file), 'utf8')).map((document) => document.toJS()).filter(Boolean) as K8sObject[]
const releaseFiles = readdirSync(release)

/** e2e.yml: `kubectl scale deployment A B -n NS --replicas=N` and `kubectl set resources deployment A -n NS -c C --requests=cpu=X`. */
function e2eScaled (namespace: string, name: string): number | undefined {
  for (const match of e2e.matchAll(/kubectl scale deployment ([\w -]+?) -n ([\w-]+) --replicas=(\d+)/g)) {
    if (match[2] === namespace && match[1]!.split(' ').includes(name)) return Number(match[3])
  }
  return undefined
}
function e2eRequest (namespace: string, name: string): number | undefined {
  const match = new RegExp(`kubectl set resources deployment ${name} -n ${namespace} -c [\\w-]+(?: \\\\\\n\\s+)? --requests=cpu=(\\w+)`).exec(e2e)
  return match ? milli(match[1]) : undefined
}

/** The Deployments of some release files, at the replicas e2e.yml leaves them (else their HPA's minimum, else their own). */
function deployments (files: string[], namespace?: string): Array<{ name: string, millicpu: number }> {
  const objects = files.flatMap(releaseObjects)
  const hpaMin = new Map(objects.filter((object) => object.kind === 'HorizontalPodAutoscaler').map((hpa) => [hpa.spec.scaleTargetRef.name, hpa.spec.minReplicas ?? 1]))
  return objects.filter((object) => object.kind === 'Deployment').map((deployment) => {
    const ns = namespace ?? deployment.metadata.namespace!
    const replicas = e2eScaled(ns, deployment.metadata.name) ?? Math.max(deployment.spec.replicas ?? 1, hpaMin.get(deployment.metadata.name) ?? 0)
    return { name: deployment.metadata.name, millicpu: replicas * podRequest(deployment.spec.template.spec) }
  })
}
const sum = (parts: Array<{ millicpu: number }>) => parts.reduce((total, part) => total + part.millicpu, 0)
const filesOf = (prefix: string) => releaseFiles.filter((file) => file.startsWith(prefix))

t.test('the e2e cluster\'s CPU requests, computed from what it schedules, fit the runner\'s 4 vCPU', async (t) => {
  const kind = renderOverlay('kind')
  const cluster = renderOverlay(join(root, 'knative/cluster/istio'))
  const budget = new Map<string, number>(Object.entries(WRITTEN))

  // Istio as net-istio installs it, slimmed by e2e.yml: one istiod and one gateway pod at 100m each.
  const istio = ['istiod', 'istio-ingressgateway'].map((name) => (e2eScaled('istio-system', name) ?? NaN) * (e2eRequest('istio-system', name) ?? NaN))
  t.same(istio.map(Number.isFinite), [true, true], 'e2e.yml scales and resizes istiod and the gateway')
  budget.set('Istio: istiod and istio-ingressgateway (e2e.yml)', istio[0]! + istio[1]!)
  const localGateway = cluster.find((object) => typeOf(object) === 'apps/v1/Deployment' && object.metadata.name === 'knative-local-gateway')!
  budget.set('knative-local-gateway (knative/cluster/istio, replicas from e2e.yml)',
    (e2eScaled('istio-system', 'knative-local-gateway') ?? localGateway.spec.replicas) * podRequest(localGateway.spec.template.spec))

  // Knative Serving and Eventing as the release's config/ ships them.
  budget.set('Knative Serving (activator, autoscaler, controller, webhook)', sum(deployments(filesOf('knative.dev_serving-config_core_deployments'), 'knative-serving')))
  budget.set('Knative Eventing (core, channel-based broker, in-memory channel)', sum(deployments(filesOf('knative.dev_eventing-config_'), 'knative-eventing')))
  // Scylla Operator and cert-manager as the operator's release ships them (operator and webhook scaled to one by e2e.yml).
  budget.set('Scylla Operator', sum(deployments(['github.com_scylladb_scylla-operator-deploy_operator.yaml'])))
  budget.set('cert-manager', sum(deployments(['github.com_scylladb_scylla-operator-examples_third-party_cert-manager.yaml'])))

  // ScyllaDB: each member pod is the rack's scylla container, the manager agent, and the two
  // containers Scylla Operator adds at 10m each (scylladb-api-status-probe, scylladb-ignition:
  // scylla-operator v1.18.0 pkg/controller/scylladbdatacenter/resource.go).
  const OPERATOR_ADDED_CONTAINERS = 2 * 10
  const scylla = kind.find((object) => typeOf(object) === 'scylla.scylladb.com/v1/ScyllaCluster')!
  budget.set('ScyllaDB (kind overlay)', scylla.spec.datacenter.racks.reduce((total: number, rack: any) =>
    total + rack.members * (requestOf(rack.resources) + requestOf(rack.agentResources) + OPERATOR_ADDED_CONTAINERS), 0))

  // The functions at max-scale, each pod with Knative's queue-proxy: config-deployment's default
  // queue-sidecar-cpu-request, as its _example block documents it (the release sets no override).
  const [deploymentConfig] = releaseObjects('knative.dev_serving-config_core_configmaps_deployment.yaml')
  t.notOk(deploymentConfig!.data!['queue-sidecar-cpu-request'], 'the release keeps the default')
  const queueProxy = milli(/^\s*queue-sidecar-cpu-request: "(\w+)"/m.exec(deploymentConfig!.data!._example ?? '')?.[1])
  t.equal(queueProxy, 25, 'queue-proxy asks 25m')
  const services = kind.filter((object) => typeOf(object) === 'serving.knative.dev/v1/Service')
  budget.set(`the ${services.length} Knative Services at max-scale with queue-proxy (kind overlay)`, services.reduce((total, svc) =>
    total + Number(svc.spec.template.metadata.annotations['autoscaling.knative.dev/max-scale']) * (podRequest(svc.spec.template.spec) + queueProxy), 0))
  // One Job at a time: the create-table Job, then sweeper runs (concurrencyPolicy Forbid).
  const jobs = podSpecs(kind).filter(({ owner }) => /^batch\/v1\/(Job|CronJob)$/.test(typeOf(owner)))
  budget.set('one Job at a time (create-table, then a sweeper run)', Math.max(...jobs.map(({ pod }) => podRequest(pod))))

  const total = [...budget.values()].reduce((a, b) => a + b, 0)
  for (const [part, millicpu] of budget) t.comment(`${part}: ${millicpu}m`)
  t.comment(`total: ${total}m of ${RUNNER_MILLICPU}m`)
  t.ok([...budget.values()].every(Number.isFinite), 'every part is known')
  t.ok(total <= RUNNER_MILLICPU, `the cluster's ${total}m of CPU requests fit the runner's ${RUNNER_MILLICPU}m`)
  // kn-deploy.sh replaces the Services one by one: the new revision's pod starts beside the old one.
  const rollout = Math.max(...services.map((svc) => podRequest(svc.spec.template.spec) + queueProxy))
  t.ok(total + rollout <= RUNNER_MILLICPU, `and a new revision's pod (${rollout}m) still fits beside the old one`)
  t.equal(budget.get('ScyllaDB (kind overlay)'), 570, 'ScyllaDB with the operator\'s two containers: 500m + 50m + 2 × 10m')
})

t.test('e2e.yml stops on a runner with fewer than 4 vCPU, and the guide says so', async (t) => {
  t.match(e2e, /runs-on: \$\{\{ vars\.E2E_RUNNER \|\| 'ubuntu-24\.04' \}\}/, 'a larger runner can be named in E2E_RUNNER')
  t.match(e2e, /cpus=\$\(nproc\)\n\s+if \[ "\$cpus" -lt 4 \]; then\n\s+echo "::error title=e2e runner::/, 'the first step checks the runner')
  const docs = readFileSync(join(root, 'docs/deployment.md'), 'utf8')
  t.match(docs, /E2E_RUNNER/, 'docs/deployment.md names the variable')
  t.match(docs, /4 vCPU/)
  t.match(docs, /`RUNTIME_IMAGE`[^\n]*\n?[^\n]*e2e\.yml/, 'and that e2e.yml needs RUNTIME_IMAGE')
})
