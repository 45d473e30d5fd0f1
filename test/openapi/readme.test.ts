import { readFile } from 'node:fs/promises'
import t from 'tap'
import { documentationFiles } from '../../scripts/openapi/files.ts'
import { configTable, renderReadme, workflowTable } from '../../scripts/openapi/readme-tables.ts'
import { ConfigSchema } from '../../shared/config.ts'
import { statuses } from '../../shared/records/vocabulary.ts'

const readme = await readFile(documentationFiles.readme, 'utf8')

t.test('the README\'s configuration and workflow tables are what the code says (run `npm run openapi`)', async (t) => {
  t.equal(readme, renderReadme(readme))
})

t.test('the configuration table names every variable of the config schema, required ones as required', async (t) => {
  const table = configTable()
  for (const name of Object.keys(ConfigSchema.properties)) t.match(table, `| \`${name}\` |`, name)
  t.match(table, '| `CURSOR_SECRET` | **required** |')
  t.match(table, '| `PORT` | `8080` |')
  t.match(table, '| `K_SINK` | — |')
})

t.test('the workflow table has every status as a source, once', async (t) => {
  const sources = workflowTable().split('\n').slice(2).flatMap((row) => [...row.split('|')[1]!.matchAll(/`(\w+)`/g)].map((match) => match[1]))
  t.same([...sources].sort(), [...statuses].sort())
  t.match(workflowTable(), '| `resolved` `false_positive` `not_affected` `accepted_risk` `duplicate` | `open` (reopen) |')
})
