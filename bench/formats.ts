/**
 * The formats section of `npm run bench` (bench/sections/formats.ts) alone, against a dynalite of its
 * own, printing the figures:
 *
 *   node bench/formats.ts [findings] [statements] [rounds]
 */
import { startBenchStore } from './lib/environment.ts'
import { renderMarkdown } from './report.ts'
import { measureFormats } from './sections/formats.ts'

const [findings = 2000, statements = 10_000, rounds = 2] = process.argv.slice(2).map(Number)
const store = await startBenchStore()
try {
  const formats = await measureFormats({ store, sizes: { findings, rounds, statements, vexRounds: rounds, settleMs: 5000 }, log: (line) => console.log(line) })
  console.log(renderMarkdown({ mode: 'full', startedAt: new Date().toISOString(), durationSeconds: 0, machine: { node: process.version, cpus: '', cores: 0, memoryGiB: 0, loadBefore: formats.load.before, loadAfter: formats.load.after, commit: '' }, formats }, undefined))
} finally {
  await store.close()
}
