/**
 * knative/scripts/alternator-credentials.sh keeps the CQL admin's password — and the passwords of the
 * roles it creates — off every command line (`ps`, /proc/<pid>/cmdline and audit logs show arguments
 * to everyone on the machine and in the pod). Run against a kubectl that records what it is given and
 * runs `kubectl exec`'s command here, with a cqlsh that records what it is given.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'

const root = new URL('../../', import.meta.url).pathname
const work = mkdtempSync(join(tmpdir(), 'security-records-cql-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const log = (name: string) => existsSync(join(work, name)) ? readFileSync(join(work, name), 'utf8') : ''

const executable = (name: string, body: string) => {
  writeFileSync(join(work, name), `#!/usr/bin/env bash\n${body}\n`)
  chmodSync(join(work, name), 0o755)
}
// Every argument of every call, one call per line.
executable('kubectl', `printf '%q ' "$@" >> "$LOG/kubectl.argv"; echo >> "$LOG/kubectl.argv"
case "$1 $2" in
  'exec '*) while [ "$1" != -- ]; do shift; done; shift; exec "$@" ;;
  'create secret'|'create configmap') echo 'kind: Secret' ;;
  'apply -f') cat > /dev/null ;;
  'get configmap') echo 'CA' ;;
esac`)
executable('cqlsh', `printf '%q ' "$@" >> "$LOG/cqlsh.argv"; echo >> "$LOG/cqlsh.argv"
while [ $# -gt 0 ]; do [ "$1" = --cqlshrc ] && rc=$2; shift; done
echo "$rc" >> "$LOG/cqlshrc.paths"; stat -c %a "$rc" >> "$LOG/cqlshrc.modes"; cat "$rc" >> "$LOG/cqlshrc"
statement=$(cat); printf '%s\\n' "$statement" >> "$LOG/statements"
case "$statement" in *'SELECT salted_hash'*) printf '\\n salted_hash\\n-------------\\n $6$hash-of-%s\\n\\n(1 rows)\\n' "\${statement##*role = }" ;; esac`)

const ADMIN_PASSWORD = 'admin-Password-1f9e'
const run = (step: string) => spawnSync('bash', [join(root, 'knative/scripts/alternator-credentials.sh'), step], {
  encoding: 'utf8', env: { ...process.env, PATH: `${work}:${process.env.PATH}`, LOG: work, CQL_ADMIN_PASSWORD: ADMIN_PASSWORD }
})

t.test('roles and grants: the admin password reaches cqlsh through a private cqlshrc, statements through stdin', async (t) => {
  for (const step of ['roles', 'grants']) {
    const result = run(step)
    t.equal(result.status, 0, `${step}: ${result.stderr}`)
  }
  const statements = log('statements')
  t.match(statements, /CREATE ROLE IF NOT EXISTS security_records_app WITH PASSWORD = '[0-9a-f]{48}'/, 'the roles were created')
  t.match(statements, /GRANT CREATE ON ALL KEYSPACES TO security_records_bootstrap;/)
  t.match(statements, /GRANT MODIFY ON KEYSPACE "alternator_security-records" TO security_records_app;/, 'and granted')
  const rolePasswords = [...statements.matchAll(/PASSWORD = '([0-9a-f]+)'/g)].map((match) => match[1]!)
  t.equal(rolePasswords.length, 2, 'two roles')

  const argv = log('kubectl.argv') + log('cqlsh.argv')
  for (const secret of [ADMIN_PASSWORD, ...rolePasswords]) t.notOk(argv.includes(secret), 'no password in any argument of kubectl or cqlsh')
  t.notMatch(argv, /--password|-p /, 'cqlsh is never given a password option')
  t.match(log('cqlsh.argv'), /^--no-color --cqlshrc \S+ $/m, 'cqlsh gets a cqlshrc, nothing else')

  t.match(log('cqlshrc'), `[authentication]\nusername = cassandra\npassword = ${ADMIN_PASSWORD}\n`, 'which holds the admin\'s credentials')
  t.same([...new Set(log('cqlshrc.modes').trim().split('\n'))], ['600'], 'readable by its owner only')
  const paths = log('cqlshrc.paths').trim().split('\n')
  t.equal(new Set(paths).size, paths.length, 'a new one per statement')
  t.notOk(paths.some((path) => existsSync(path)), 'and each removed after use')
})

t.test('the guide\'s by-hand commands keep the password off the command line too', async (t) => {
  const docs = readFileSync(join(root, 'docs/deployment.md'), 'utf8')
  t.notMatch(docs, /cqlsh[^\n]*--password/, 'no cqlsh --password')
  t.match(docs, /cqlsh --no-color --cqlshrc "\$rc"/, 'a private cqlshrc, as the script does')
})
