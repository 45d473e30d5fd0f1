/**
 * The README tables that restate code: the configuration reference (from ConfigSchema) and the
 * status workflow (from statusTransitions). `npm run openapi` writes them between their markers;
 * a test fails when the README holds anything else there.
 */
import { ConfigSchema } from '../../shared/config.ts'
import { statuses, type Status } from '../../shared/records/vocabulary.ts'
import { statusTransitions } from '../../shared/records/workflow.ts'

const code = (value: unknown) => `\`${String(value)}\``
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

interface SettingSchema { default?: unknown, description?: string, enum?: unknown[], minimum?: number, maximum?: number, minLength?: number }

/** Every environment variable a function reads: its default (or that it is required) and what it means. */
export function configTable (): string {
  const required = new Set<string>(ConfigSchema.required ?? [])
  const rows = Object.entries(ConfigSchema.properties as Record<string, SettingSchema>).map(([name, setting]) => {
    const fallback = setting.default !== undefined ? code(setting.default) : required.has(name) ? '**required**' : '—'
    const notes = [setting.description ?? '']
    if (setting.enum) notes.push(`One of ${setting.enum.map(code).join(', ')}.`)
    if (setting.minimum !== undefined && setting.maximum !== undefined) notes.push(`${setting.minimum}–${setting.maximum}.`)
    return `| ${code(name)} | ${fallback} | ${cell(notes.join(' '))} |`
  })
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

/** The status workflow, statuses with the same moves on one row. */
export function workflowTable (): string {
  const groups: Array<{ from: Status[], to: readonly Status[] }> = []
  for (const status of statuses) {
    const to = statusTransitions[status]
    const group = groups.find((candidate) => candidate.to.join() === to.join())
    if (group) group.from.push(status)
    else groups.push({ from: [status], to })
  }
  const rows = groups.map(({ from, to }) => {
    const moves = to.map(code).join(' ')
    return `| ${from.map(code).join(' ')} | ${to.length === 1 && to[0] === 'open' ? `${moves} (reopen)` : moves} |`
  })
  return ['| from | may move to |', '|---|---|', ...rows].join('\n')
}

export const readmeBlocks = {
  config: configTable,
  workflow: workflowTable
} as const

/** The README with every generated block replaced by what the code says now. */
export function renderReadme (readme: string): string {
  let result = readme
  for (const [name, render] of Object.entries(readmeBlocks)) {
    const start = `<!-- ${name}:start -->`
    const end = `<!-- ${name}:end -->`
    const from = result.indexOf(start)
    const to = result.indexOf(end)
    if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} block`)
    result = `${result.slice(0, from + start.length)}\n${render()}\n${result.slice(to)}`
  }
  return result
}
