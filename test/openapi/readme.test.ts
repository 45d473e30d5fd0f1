import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { documentationFiles } from '../../scripts/openapi/files.ts'
import { configTable, renderReadme, workflowTable } from '../../scripts/openapi/readme-tables.ts'
import { ConfigSchema } from '../../shared/config.ts'
import { statuses } from '../../shared/records/vocabulary.ts'
import { aRecord, buildRecordsApi } from '../support/records-api.ts'

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

t.test('the README\'s status rules say what the API does: a move the table lacks is a 409, a listed move without its field a 400', async (t) => {
  t.match(readme, /A move the table does not list is a \*\*409\*\*/)
  t.match(readme, /A move it lists still needs its fields, or it is a \*\*400\*\* whose\n`errors` name each missing one/)
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer({ sub: 'local-admin', client_id: 'local-admin' })
  const change = async (record: { id: string, etag: string }, patch: Record<string, unknown>) => api.app.inject({
    method: 'PATCH', url: `/v1/records/${record.id}`, headers: { authorization, 'content-type': 'application/merge-patch+json', 'if-match': record.etag }, payload: patch
  })

  const withoutReason = await change(await api.create(), { status: 'false_positive' })
  t.equal(withoutReason.statusCode, 400, 'open → false_positive without a statusReason')
  t.match(withoutReason.json().errors, [{ path: '/statusReason' }])

  const resolved = await api.create({ ...aRecord(), status: 'resolved' })
  const illegal = await change(resolved, { status: 'triaged' })
  t.equal(illegal.statusCode, 409, 'resolved → triaged')
  t.match(illegal.json(), { type: /illegal-transition$/ })
})

// The machine's own Node (Debian's, v20 on the CI image), if it is an older one and has its npm.
const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path) && existsSync(join(dirname(path), 'npm')) &&
  Number(execFileSync(path, ['-p', 'process.versions.node.split(".")[0]']).toString()) < 24)

t.test('npm ci on a Node older than 24 stops at once, before installing anything, naming the Node it needs', { skip: oldNode ? false : 'no Node older than 24 with npm on this machine' }, async (t) => {
  const oldNpm = join(dirname(oldNode!), 'npm')
  t.match(await readFile(new URL('../../.npmrc', import.meta.url), 'utf8'), /^engine-strict=true$/m)

  const project = await mkdtemp(join(tmpdir(), 'security-records-engines-'))
  t.teardown(() => rm(project, { recursive: true, force: true }))
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) await copyFile(new URL(`../../${file}`, import.meta.url), join(project, file))
  const result = spawnSync(oldNpm, ['ci', '--dry-run', '--no-audit', '--no-fund'], {
    cwd: project, env: { ...process.env, PATH: `${dirname(oldNode!)}:/usr/bin:/bin` }, encoding: 'utf8', timeout: 60_000
  })
  t.not(result.status, 0, 'npm ci fails')
  t.match(result.stderr, /EBADENGINE[\s\S]*Required: \{"node":">=24"\}/, 'with EBADENGINE and the Node it needs')
  t.notMatch(result.stderr, /tap build|prepare/, 'before any lifecycle script runs')
  t.notOk(existsSync(join(project, 'node_modules')), 'and nothing installed')
})

t.test('npm start\'s banner names the API documentation: /docs and /openapi.json', async (t) => {
  const start = spawn(process.execPath, [fileURLToPath(new URL('../../local-dev/start.ts', import.meta.url))], {
    env: { ...process.env, PORT: '0', DATA_DIR: ':memory:', LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { start.kill('SIGTERM') })
  let banner = ''
  for await (const chunk of start.stdout) {
    banner += String(chunk)
    if (banner.includes('Then call the API')) break
  }
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1]
  t.ok(url, 'it says where it listens')
  t.match(banner, `${url}/docs`)
  t.match(banner, `${url}/openapi.json`)
})
