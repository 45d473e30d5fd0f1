/**
 * `npm test` on a fresh machine with Node 24 alone (the README's Quick start): no suite it runs
 * needs Go, shellcheck or a kubectl of the machine's own. The Go-built upstream judges are a suite
 * of their own (`npm run test:upstream`) that .ci/run runs once it has installed Go and shellcheck;
 * so is the OpenVEX judge (`npm run test:vex`).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { deflateRawSync } from 'node:zlib'
import t from 'tap'
import { parse } from 'yaml'
import { unzipEntry } from '../../scripts/kubectl.ts'

const root = new URL('../../', import.meta.url).pathname
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string> }

const files = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
  entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)])

/** The files `npm test` runs: .taprc's `files` globs (`test/**∕*.test.ts`). */
const taprc = parse(read('.taprc')) as { files: string[] }
t.same(taprc.files, ['test/**/*.test.ts'], 'npm test runs test/**/*.test.ts')
const self = relative(root, new URL(import.meta.url).pathname)
const npmTestFiles = files('test').filter((file) => file.endsWith('.test.ts') && file !== self)

t.test('no suite of npm test builds or runs Go tools, or needs shellcheck', async (t) => {
  for (const file of npmTestFiles) {
    const source = read(file)
    t.notMatch(source, /upstreamTools\(|crdJudge\(|upstream\/(crds\/)?build\.sh|go-vex\/build\.sh|spawnSync\('go'|'shellcheck'/, `${file} needs no Go and no shellcheck`)
  }
})

t.test('a suite of npm test that renders with kubectl gets it through scripts/kubectl.ts', async (t) => {
  const renderers = npmTestFiles.filter((file) => /renderOverlay\(|spawnSync\('kubectl'/.test(read(file)))
  t.ok(renderers.length >= 2, 'the manifest suites render the overlays')
  for (const file of renderers) t.match(read(file), /ensureKubectl\(\)/, `${file} calls ensureKubectl()`)
})

t.test('the upstream judges are `npm run test:upstream`, and .ci/run runs them after installing Go', async (t) => {
  t.equal(packageJson.scripts['test:upstream'], 'tap test/knative/*.upstream.ts')
  const judges = files('test').filter((file) => file.endsWith('.upstream.ts'))
  t.ok(judges.length > 0)
  for (const file of judges) t.match(read(file), /upstreamTools\(\)|crdJudge\(\)/, `${file} is an upstream judge`)
  const ci = read('.ci/run')
  const goInstalled = ci.indexOf('export PATH="$go_dir/bin:$PATH"')
  t.ok(goInstalled > 0, '.ci/run installs Go')
  t.ok(ci.lastIndexOf('npm run test:upstream') > goInstalled, 'and then runs npm run test:upstream')
  t.match(read('README.md'), /npm run test:upstream/, 'the README names the suite')
})

t.test('the OpenVEX judge (go-vex) is `npm run test:vex`, which .ci/run and ci.yml run after the upstream judges', async (t) => {
  t.equal(packageJson.scripts['test:vex'], 'tap test/formats/*.judge.ts')
  const judges = files('test').filter((file) => file.endsWith('.judge.ts'))
  t.ok(judges.length > 0)
  for (const file of judges) t.match(read(file), /go-vex\/build\.sh/, `${file} builds the go-vex judge`)
  const ci = read('.ci/run')
  t.ok(ci.lastIndexOf('npm run test:vex') > ci.indexOf('npm run test:upstream'), '.ci/run runs it after the upstream judges, with their Go')
  const workflow = read('.github/workflows/ci.yml')
  t.ok(workflow.indexOf('npm run test:vex') > workflow.indexOf('npm run test:upstream'), 'so does ci.yml')
  t.match(read('README.md'), /npm run test:vex/, 'the README names the suite')
})

/** A zip with one entry, as the layer's is laid out (local header, data, central directory, end). */
function zipOf (name: string, content: Buffer, method: 0 | 8): Buffer {
  const data = method === 8 ? deflateRawSync(content) : content
  const nameBytes = Buffer.from(name)
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(method, 8)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(content.length, 22)
  local.writeUInt16LE(nameBytes.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE(method, 10)
  central.writeUInt32LE(data.length, 20)
  central.writeUInt32LE(content.length, 24)
  central.writeUInt16LE(nameBytes.length, 28)
  central.writeUInt32LE(0, 42)
  const centralAt = local.length + nameBytes.length + data.length
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + nameBytes.length, 12)
  end.writeUInt32LE(centralAt, 16)
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end])
}

t.test('scripts/kubectl.ts reads kubectl out of the layer zip, stored or deflated', async (t) => {
  const binary = Buffer.from('#!/bin/sh\necho kubectl\n'.repeat(50))
  t.same(unzipEntry(zipOf('kubectl/kubectl', binary, 8), 'kubectl/kubectl'), binary)
  t.same(unzipEntry(zipOf('kubectl/kubectl', binary, 0), 'kubectl/kubectl'), binary)
  t.throws(() => unzipEntry(zipOf('helm/helm', binary, 8), 'kubectl/kubectl'), /not in the archive/)
  t.throws(() => unzipEntry(Buffer.from('not a zip'), 'kubectl/kubectl'), /not a zip archive/)
})
