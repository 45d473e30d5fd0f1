import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { LOCK_FILE_NAME } from '../../local-dev/data-dir-lock.ts'
import { localToken, spawnStack, startStack } from './start-process.ts'

async function dataDirFor (t: Test): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'security-records-lock-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  return dataDir
}

t.test('a second npm start on the DATA_DIR a running stack holds exits at once with one line naming the directory and that stack\'s PID', async (t) => {
  const dataDir = await dataDirFor(t)
  const first = await startStack(t, { DATA_DIR: dataDir })
  const token = await localToken(first.url)

  const second = spawnStack(t, { DATA_DIR: dataDir })
  const started = performance.now()
  const code = await second.exited
  const elapsed = performance.now() - started
  const lines = second.output().trim().split('\n')
  t.equal(code, 1, 'exit code 1')
  t.equal(lines.length, 1, `one line: ${second.output()}`)
  t.match(lines[0], dataDir, 'naming the directory')
  t.match(lines[0], `PID ${first.child.pid}`, 'and the process that holds it')
  t.notMatch(second.output(), /Database is closed|\n\s+at /, 'no stack trace')
  t.comment(`the second npm start exited after ${Math.round(elapsed)} ms`)

  const stillServes = await fetch(`${first.url}/v1/records`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(stillServes.status, 200, 'the first stack is unharmed')

  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'the first stack exits cleanly')
  await t.rejects(readFile(join(dataDir, LOCK_FILE_NAME)), { code: 'ENOENT' }, 'and gives the directory up')
  const third = await startStack(t, { DATA_DIR: dataDir })
  t.ok(third.url, 'after which another stack starts on it')
  third.child.kill('SIGTERM')
  t.equal(await third.exited, 0)
})

t.test('a lock left by a stack that died without removing it (SIGKILL) does not keep the next one out', async (t) => {
  const dataDir = await dataDirFor(t)
  // A process that has exited: its PID names no one (or, reused, rarely someone else).
  const gone = spawn(process.execPath, ['-e', ''])
  await new Promise((resolve) => gone.on('exit', resolve))
  await writeFile(join(dataDir, LOCK_FILE_NAME), `${gone.pid}\n`)

  const stack = await startStack(t, { DATA_DIR: dataDir })
  t.equal((await readFile(join(dataDir, LOCK_FILE_NAME), 'utf8')).trim(), String(stack.child.pid), 'the new stack holds the directory')
  stack.child.kill('SIGTERM')
  t.equal(await stack.exited, 0)
})

t.test('a lock naming a process that exited but was never reaped (a zombie) does not keep the next one out', async (t) => {
  const dataDir = await dataDirFor(t)
  // sh starts a child and becomes `sleep`, which never reaps it: the child stays a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] })
  t.teardown(() => { parent.kill('SIGKILL') })
  const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))))
  let state = ''
  for (let attempt = 0; attempt < 100 && state !== 'Z'; attempt++) {
    const stat = await readFile(`/proc/${zombie}/stat`, 'utf8')
    state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state !== 'Z') await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(state, 'Z', `process ${zombie} is a zombie`)
  await writeFile(join(dataDir, LOCK_FILE_NAME), `${zombie}\n`)

  const stack = await startStack(t, { DATA_DIR: dataDir })
  t.equal((await readFile(join(dataDir, LOCK_FILE_NAME), 'utf8')).trim(), String(stack.child.pid), 'the new stack holds the directory')
  stack.child.kill('SIGTERM')
  t.equal(await stack.exited, 0)
})
