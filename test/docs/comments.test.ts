/**
 * Comments and messages that last: they point to nothing outside the repository (the contract the
 * project was written against, issue numbers), and carry no measured timings or sizes, which go
 * stale with the next change; those live in bench/README.md, where a run regenerates them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'

const root = new URL('../../', import.meta.url).pathname
const self = relative(root, new URL(import.meta.url).pathname)
const scanned = ['functions', 'shared', 'jobs', 'local-dev', 'scripts', 'test', 'knative', '.ci', 'bench/lib']
const text = /\.(ts|sh|ya?ml|toml)$|^\.ci\/run$/

function files (dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules' || path === 'test/fixtures') return []
    return statSync(join(root, path)).isDirectory() ? files(path) : text.test(path) ? [path] : []
  })
}
const sources = [...scanned.flatMap(files), ...readdirSync(join(root, 'bench')).filter((name) => name.endsWith('.ts')).map((name) => `bench/${name}`)]
  .filter((path) => path !== self)

/** A line that is a comment, or the commented part of one. */
const commentOf = (line: string) => /(?:^|\s)(?:\/\/|\/?\*+|#)\s(.*)$/.exec(line)?.[1]

t.test('the sources are scanned', async (t) => {
  t.ok(sources.length > 200, `${sources.length} files`)
  t.ok(sources.includes('.ci/run') && sources.includes('test/openapi/schemathesis/schemathesis.toml'))
})

t.test('no pointer to a document outside the repository or to an issue number, in code, comments or messages', async (t) => {
  const found = sources.flatMap((path) => readFileSync(join(root, path), 'utf8').split('\n')
    .map((line, index) => ({ where: `${path}:${index + 1}`, line }))
    .filter(({ line }) => /\bCONTRACT\b|\b[Ii]ssues? #?\d+\b|\(#\d+\)/.test(line)))
  t.same(found, [])
})

t.test('no measured milliseconds or megabytes in comments (bench/README.md keeps them)', async (t) => {
  const measured = /~\s?\d+(?:[.,]\d+)?(?:\s?[-–]\s?\d+)?\s?(?:ms|µs|s|MB|MiB|KB|KiB)\b/
  const found = sources.flatMap((path) => readFileSync(join(root, path), 'utf8').split('\n')
    .map((line, index) => ({ where: `${path}:${index + 1}`, comment: commentOf(line) }))
    .filter(({ comment }) => comment !== undefined && measured.test(comment)))
  t.same(found, [])
})
