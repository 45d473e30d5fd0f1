import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'

const root = resolve(import.meta.dirname, '../..')

/**
 * The layering rules of docs/architecture.md ("Layering rules"): each row names files (a folder
 * ending in `/`, or one file) and the folders and files they never import from. The table is
 * the one list of the rules; this test reads it and checks every import of the code base.
 */
export function layeringRules (markdown: string): Array<{ files: string[], never: string[] }> {
  const section = markdown.split(/^## /m).find((part) => part.startsWith('Layering rules'))
  if (!section) throw new Error('docs/architecture.md has no "Layering rules" section')
  const paths = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!)
  return section.split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [, files = '', never = ''] = line.split('|')
      return { files: paths(files), never: paths(never) }
    })
}

/** Every TypeScript source file below `dir` (tests, dependencies and generated output left out). */
function sourceFiles (base: string, dir = ''): string[] {
  return readdirSync(join(base, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (['node_modules', 'dist', 'test', '.data', '.git', 'coverage', '.tap'].includes(name)) return []
    if (statSync(join(base, path)).isDirectory()) return sourceFiles(base, path)
    return path.endsWith('.ts') ? [path] : []
  })
}

/** The files a file imports (relative specifiers, types included), as paths from the root. */
function importsOf (base: string, file: string): string[] {
  const text = readFileSync(join(base, file), 'utf8')
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)import\s+'([^']+)'/g)]
    .map((match) => match[1] ?? match[2] ?? match[3]!)
  return specifiers.filter((specifier) => specifier.startsWith('.')).map((specifier) => relative(base, resolve(base, dirname(file), specifier)))
}

const covers = (pattern: string, file: string) => (pattern.endsWith('/') ? file.startsWith(pattern) : file === pattern)

/** Every import that breaks a rule, and every pair of shared/ folders that import each other. */
export function layeringViolations (base: string, rules: ReturnType<typeof layeringRules>): string[] {
  const graph = sourceFiles(base).map((file) => ({ file, imports: importsOf(base, file) }))
  const violations: string[] = []
  for (const rule of rules) {
    for (const { file, imports } of graph) {
      if (!rule.files.some((pattern) => covers(pattern, file))) continue
      for (const target of imports) {
        const broken = rule.never.find((pattern) => covers(pattern, target) && !rule.files.some((own) => covers(own, target)))
        if (broken) violations.push(`${file} imports ${target} (${rule.files.join(' ')} never import ${broken})`)
      }
    }
  }
  const folderOf = (file: string) => /^shared\/[^/]+\//.exec(file)?.[0]
  const edges = new Set(graph.flatMap(({ file, imports }) => imports.map((target) => [folderOf(file), folderOf(target)] as const)
    .filter(([from, to]) => from && to && from !== to).map(([from, to]) => `${from} → ${to}`)))
  for (const edge of edges) {
    const [from, to] = edge.split(' → ')
    if (from! < to! && edges.has(`${to} → ${from}`)) violations.push(`${from} and ${to} import each other`)
  }
  return violations
}

t.test('every layering rule of docs/architecture.md holds', async (t) => {
  const rules = layeringRules(readFileSync(join(root, 'docs/architecture.md'), 'utf8'))
  t.ok(rules.length >= 8, 'the rules are read from the table')
  t.same(layeringViolations(root, rules), [])
})

t.test('the check finds an import that breaks a rule, and two folders that import each other', async (t) => {
  const rules = [{ files: ['shared/http/'], never: ['shared/records/'] }]
  const base = resolve(import.meta.dirname, '../fixtures/layering')
  t.same(layeringViolations(base, rules), [
    'shared/http/reply.ts imports shared/records/schema.ts (shared/http/ never import shared/records/)',
    'shared/http/ and shared/records/ import each other'
  ])
})
