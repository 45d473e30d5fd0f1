import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/** The file in the data directory that names the process holding it (like PostgreSQL's postmaster.pid). */
export const LOCK_FILE_NAME = 'stack.pid'

export class DataDirInUseError extends Error {}

export interface DataDirLock {
  /** Gives the directory up (only if the lock is still this process's). */
  release (): Promise<void>
}

/**
 * One stack per data directory: the embedded store's files are opened by one process only (a
 * second one fails deep inside dynalite with "Database is closed"), so a second `npm start` on the
 * same DATA_DIR is refused up front, naming the directory and the process that holds it. A lock
 * left by a stack that could not remove it (SIGKILL, a crash) names a process that is gone; the
 * next start takes it over.
 */
export async function lockDataDir (dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, LOCK_FILE_NAME)
  const ours = `${process.pid}\n`
  for (;;) {
    try {
      await writeExclusively(file, ours)
      return {
        async release () {
          if (await readFile(file, 'utf8').catch(() => '') === ours) await rm(file, { force: true })
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim())
    if (await isAnotherLiveProcess(holder)) {
      throw new DataDirInUseError(`the data directory ${resolve(dataDir)} is in use by another stack (PID ${holder}); stop that one, or give this one its own DATA_DIR`)
    }
    // Stale: the stack that wrote it is gone.
    await rm(file, { force: true })
  }
}

/** Creates `file` with `content` in one step (EEXIST if it exists): no one ever reads it empty. */
async function writeExclusively (file: string, content: string): Promise<void> {
  const draft = `${file}.${process.pid}.tmp`
  await writeFile(draft, content, { mode: 0o600 })
  try {
    await link(draft, file)
  } finally {
    await rm(draft, { force: true })
  }
}

async function isAnotherLiveProcess (pid: number): Promise<boolean> {
  // Our own PID in the file: a previous stack with the same PID (a container's PID 1) is gone.
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  return !await hasExited(pid)
}

/**
 * A process that exited but was not reaped by its parent yet (a zombie, state Z or X in Linux's
 * /proc/<pid>/stat) still answers signal 0, and holds nothing. Where there is no /proc, a process
 * that answers is taken as running.
 */
async function hasExited (pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  // The state follows the command name, which is in parentheses and may itself hold ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  return state === 'Z' || state === 'X'
}
