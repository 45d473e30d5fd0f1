import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { startLocalStack } from '../../local-dev/stack.ts'

const run = promisify(execFile)

/** The README's "first five requests" block, exactly as written, with only `API=` pointed at this test's stack. */
async function walkthrough (): Promise<string> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Your first five requests'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  if (!block) throw new Error('README has no walk-through block')
  return block
}

t.test('the README walk-through runs verbatim against the local stack', async (t) => {
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', dataDir: ':memory:', logLevel: 'silent', sweepIntervalMs: 0 })
  t.teardown(() => stack.close())
  const script = (await walkthrough()).replace(/^API=.*$/m, `API=${stack.url}`)
  t.match(script, /API=http:\/\/127\.0\.0\.1:\d+\n/, 'only the API origin is replaced')
  const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { timeout: 60_000 })

  t.notMatch(stdout, /\}(\{|HTTP\/|created )/, 'no output runs into the next: each ends with a line break')
  const id = /created ([0-9a-f-]{36})/.exec(stdout)?.[1]
  t.ok(id, 'step 2 created a record')
  t.match(stdout, /HTTP\/1\.1 200 OK[\s\S]*etag: "1"/i, 'step 3 read it back with its ETag')
  t.match(stdout, /"status":"triaged","assignee":"team-payments"|"assignee":"team-payments"[\s\S]*"status":"triaged"/, 'step 4 triaged it')
  const list = JSON.parse(stdout.slice(stdout.lastIndexOf('{"items":'))) as { items: Array<{ id: string, severity: string }> }
  t.same(list.items.map((item) => item.id), [id], 'step 5 lists it')
  t.equal(list.items[0]!.severity, 'critical', 'severity derived from the CVSS vector')
})
