import { readFile } from 'node:fs/promises'
import t from 'tap'
import newman, { type NewmanRunSummary } from 'newman'
import { startLocalStack } from '../../local-dev/stack.ts'
import { documentationFiles } from '../../scripts/openapi/files.ts'

const collection = JSON.parse(await readFile(documentationFiles.postmanCollection, 'utf8'))
const environment = JSON.parse(await readFile(documentationFiles.postmanEnvironment, 'utf8'))

/** Runs the committed collection with the committed environment, pointed at `baseUrl`. */
function runCollection (baseUrl: string, overrides: Record<string, string> = {}): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) => {
    newman.run({
      collection,
      environment,
      envVar: Object.entries({ baseUrl, ...overrides }).map(([key, value]) => ({ key, value })),
      reporters: []
    }, (error, summary) => (error ? reject(error) : resolve(summary)))
  })
}

const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
t.teardown(() => stack.close())

const failures = (summary: NewmanRunSummary) => summary.run.failures.map((failure) => `${failure.source?.name ?? 'collection'}: ${failure.error.message}`)

t.test('newman runs the collection unattended against a running stack, twice in a row, without a failure', async (t) => {

  for (const run of ['first', 'second']) {
    const summary = await runCollection(stack.url)
    t.same(failures(summary), [], `${run} run: no failure`)
    // Executions also hold the requests scripts send (the token, the check after the delete): one entry per item is enough.
    const assertionsByItem = new Map(summary.run.executions.map((execution) => [execution.item.name, execution.assertions?.length ?? 0]))
    t.same([...assertionsByItem.keys()], ['Record a security finding', 'Read one record', 'Change a record', 'Read a record\'s audit history', 'List records', 'Delete a record', 'Import a scanner report (SARIF 2.1.0, CycloneDX 1.4/1.5/1.6)', 'Follow an import', 'Apply a VEX document (OpenVEX 0.2, CycloneDX VEX) to existing records', 'Security metrics of the tenant'],
      `${run} run: create, read, change, history, list, delete, import, follow the import, apply a VEX, metrics`)
    t.ok([...assertionsByItem.values()].every((count) => count >= 1), `${run} run: every request asserts something`)
    t.ok((summary.run.stats.assertions.total ?? 0) >= 20, `${run} run: ${summary.run.stats.assertions.total} assertions`)
  }
})

t.test('the collection\'s tests fail when the API does not behave: a client without write scope', async (t) => {
  const summary = await runCollection(stack.url, { clientId: 'local-reader', clientSecret: 'local-reader-secret' })
  t.ok((summary.run.stats.assertions.failed ?? 0) > 0, 'the failed create shows up as failed assertions')
  t.match(failures(summary).join('\n'), /Record a security finding: expected response to have status code 201 but got 403/)
})

t.test('without a client in the environment the collection stops with a message that says what to select', async (t) => {
  const summary = await runCollection(stack.url, { clientId: '' })
  t.match(failures(summary).join('\n'), /Select an environment with clientId and clientSecret/)
})
