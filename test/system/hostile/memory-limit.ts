import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A process started under a memory limit as a pod's container is: a cgroup of its own below this
 * process's (v1 `memory` with swap forbidden, or v2 `memory.max`), its peak resident set readable
 * (`VmHWM`, resettable through `clear_refs`), and the cgroup's own peak (page cache included).
 * Needs write access to the cgroup tree (root, or a delegated cgroup); `available()` says whether.
 */
export interface LimitedProcess {
  child: ChildProcess
  /** The process's peak RSS since the last reset, in bytes. */
  peakRss (): number
  /** The cgroup's peak usage since the last reset, in bytes. */
  peakCgroup (): number
  resetPeaks (): void
  /** Out-of-memory kills the cgroup has seen. */
  oomKills (): number
  alive (): boolean
  stop (): Promise<void>
}

interface Cgroup { dir: string, version: 1 | 2 }

function ownCgroup (): Cgroup | undefined {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')
  const v1 = lines.find((line) => line.split(':')[1]?.split(',').includes('memory'))
  if (v1 && existsSync('/sys/fs/cgroup/memory')) return { dir: join('/sys/fs/cgroup/memory', v1.split(':')[2]!), version: 1 }
  const v2 = lines.find((line) => line.startsWith('0::'))
  if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) return { dir: join('/sys/fs/cgroup', v2.slice(3)), version: 2 }
  return undefined
}

/** Whether a memory-limited cgroup can be made here (and if not, why). */
export function cgroupUnavailable (): string | undefined {
  const own = ownCgroup()
  if (!own) return 'no cgroup memory controller is mounted'
  const probe = join(own.dir, `probe-${process.pid}`)
  try {
    mkdirSync(probe)
    rmdirSync(probe)
    return undefined
  } catch (error) {
    return `cannot make a cgroup below ${own.dir}: ${(error as Error).message}`
  }
}

export async function startLimited (command: string, args: string[], env: Record<string, string | undefined>, limitBytes: number): Promise<LimitedProcess> {
  const own = ownCgroup()!
  const dir = join(own.dir, `limited-${process.pid}-${Date.now()}`)
  mkdirSync(dir)
  const write = (file: string, value: string) => writeFileSync(join(dir, file), value)
  const read = (file: string) => readFileSync(join(dir, file), 'utf8')
  if (own.version === 1) {
    write('memory.limit_in_bytes', String(limitBytes))
    // No swap: a pod has none, and swapping would hide the limit.
    try { write('memory.memsw.limit_in_bytes', String(limitBytes)) } catch {}
  } else {
    write('memory.max', String(limitBytes))
    try { write('memory.swap.max', '0') } catch {}
  }
  // The shell joins the cgroup, then becomes node: the process and everything it allocates are inside.
  const child = spawn('sh', ['-c', `echo $$ > "${join(dir, 'cgroup.procs')}" && exec "$0" "$@"`, command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4000) }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8')
  return {
    child,
    peakRss: () => Number(/VmHWM:\s+(\d+) kB/.exec(status())![1]) * 1024,
    peakCgroup: () => Number(read(own.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak')),
    resetPeaks () {
      writeFileSync(`/proc/${child.pid}/clear_refs`, '5')
      if (own.version === 1) write('memory.max_usage_in_bytes', '0')
    },
    oomKills () {
      const text = own.version === 1 ? read('memory.oom_control') : read('memory.events')
      return Number(/oom_kill (\d+)/.exec(text)?.[1] ?? 0)
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          rmdirSync(dir)
          break
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      if (output && process.env.SHOW_CHILD_OUTPUT) console.error(output)
    }
  }
}
