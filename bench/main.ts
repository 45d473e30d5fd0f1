/**
 * `npm run bench`: the benchmark suite (bench/). Writes bench/results/latest.md, the
 * chart latest.svg and the raw figures latest.json; every ratio is against a baseline measured
 * in the same run. About six minutes on the 2-core reference machine.
 *
 *   npm run bench                       everything, reference sample counts
 *   npm run bench -- --smoke            tiny counts, results in a temporary folder; fails if the harness breaks
 *   npm run bench -- --only overhead,token   chosen sections (cold-start, overhead, gateway, token, json, list-scaling, import, metrics, formats)
 *   npm run bench -- --out DIR          where the report goes
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { renderChart, renderMarkdown, targetChecks } from './report.ts'
import { runBenchmarks, SECTIONS, type Section } from './run.ts'

const { values } = parseArgs({ options: { smoke: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' } } })
const mode = values.smoke ? 'smoke' : 'full'
const sections = new Set((values.only?.split(',') ?? SECTIONS).map((name) => name.trim()) as Section[])
for (const section of sections) if (!SECTIONS.includes(section)) throw new Error(`unknown section ${section}; choose from ${SECTIONS.join(', ')}`)

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const outDir = values.out ? resolve(values.out) : mode === 'smoke' ? mkdtempSync(join(tmpdir(), 'security-records-bench-smoke-')) : join(root, 'bench/results')
// A harness that hangs must fail, not stall CI: the smoke run gets two minutes, a full run twenty.
const watchdog = setTimeout(() => {
  console.error(`bench: no result after ${mode === 'smoke' ? 2 : 20} minutes; giving up`)
  process.exit(2)
}, (mode === 'smoke' ? 2 : 20) * 60_000)
watchdog.unref()

// Ctrl-C exits through process 'exit', where every child the harness started is killed.
process.once('SIGINT', () => process.exit(130))
const log = (line: string) => console.log(`bench: ${line}`)
const results = await runBenchmarks(mode, sections, log)
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
writeFileSync(join(outDir, 'latest.svg'), renderChart(results))
writeFileSync(join(outDir, 'latest.md'), renderMarkdown(results, 'latest.svg'))

const checks = targetChecks(results)
for (const check of checks) log(`${check.met ? 'met   ' : 'MISSED'} ${check.name}: ${check.measured} (baseline ${check.baseline}; target ${check.target})`)
log(`${checks.filter((check) => check.met).length}/${checks.length} targets met; report in ${relative(process.cwd(), outDir) || '.'}/latest.md (${results.durationSeconds.toFixed(0)} s)`)
clearTimeout(watchdog)
