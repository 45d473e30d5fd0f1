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
