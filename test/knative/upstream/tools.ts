import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

/**
 * The directory holding the upstream judges (admit, kn, actionlint), built by build.sh from the Go
 * module proxy on first use and cached under ~/.cache. A missing toolchain is an error, never a skip:
 * .ci/run installs Go when the machine has none.
 */
export function upstreamTools (): { dir: string, admit: string, kn: string, actionlint: string } {
  const result = spawnSync('bash', [new URL('./build.sh', import.meta.url).pathname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (result.status !== 0) throw new Error(`test/knative/upstream/build.sh failed (exit ${result.status}): the upstream judges could not be built`)
  const dir = result.stdout.trim().split('\n').at(-1)!
  return { dir, admit: join(dir, 'admit'), kn: join(dir, 'kn'), actionlint: join(dir, 'actionlint') }
}

export interface Verdict { file: string, kind: string, name: string, skipped?: boolean, errors: string[] }

/** Knative's admission code on these files: one verdict per object. */
export function admit (admitBinary: string, files: string[], features: string[] = []): { status: number | null, verdicts: Verdict[], stderr: string } {
  const result = spawnSync(admitBinary, [...features.flatMap((feature) => ['-feature', feature]), ...files], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  if (result.error) throw result.error
  const verdicts = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Verdict)
  return { status: result.status, verdicts, stderr: result.stderr }
}

export interface CrdVerdict { file: string, kind: string, name: string, crd?: string, celRules?: number, skipped?: boolean, errors: string[] }

/**
 * The crds judge (crds/main.go: the API server's custom-resource validation with the CRDs of the
 * pinned releases, and Scylla Operator's ValidateScyllaCluster), built by crds/build.sh on first use,
 * with the CRDs (crds) and the add-ons' release Deployments (release) it gathered.
 */
export function crdJudge (): { binary: string, crds: string, release: string } {
  const result = spawnSync('bash', [new URL('./crds/build.sh', import.meta.url).pathname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (result.status !== 0) throw new Error(`test/knative/upstream/crds/build.sh failed (exit ${result.status}): the crds judge could not be built`)
  const dir = result.stdout.trim().split('\n').at(-1)!
  return { binary: join(dir, 'crds'), crds: join(dir, 'crds.d'), release: join(dir, 'release.d') }
}

/** The crds judge on these files: one verdict per object. */
export function judgeCustomResources (judge: { binary: string, crds: string }, files: string[]): { status: number | null, verdicts: CrdVerdict[], stderr: string } {
  const result = spawnSync(judge.binary, ['-crds', judge.crds, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (result.error) throw result.error
  const verdicts = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as CrdVerdict)
  return { status: result.status, verdicts, stderr: result.stderr }
}
