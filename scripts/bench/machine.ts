import { readdirSync, readFileSync } from 'node:fs'
import { arch, availableParallelism, cpus, platform } from 'node:os'

/**
 * What the figures were measured on, and where the machine's CPU went during the measured window:
 * the service, Postgres, Redis, this load generator, and anything else that ran (on a shared machine,
 * other people's work: it is named, so a low figure can be explained). Linux /proc only; elsewhere
 * the split is simply not reported.
 */

/** Linux reports CPU time in USER_HZ ticks, 100 per second on every mainstream build. */
const USER_HZ = 100

export interface Machine {
  cpuModel: string
  cores: number
  node: string
  os: string
}

export function describeMachine(): Machine {
  return {
    cpuModel: (cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim(),
    cores: availableParallelism(),
    node: process.version,
    os: `${platform()} ${arch()}`,
  }
}

export interface CpuSnapshot {
  at: number
  /** CPU seconds of every process (all its threads), by pid; a process that ends in between is lost. */
  processes: Map<number, ProcessCpu>
  /** Busy and total CPU seconds of the whole machine, all cores; undefined without /proc. */
  machineBusy?: number
  machineTotal?: number
}

interface ProcessCpu {
  command: string
  parent: number
  seconds: number
}

export interface CpuSplit {
  /** Each in percent of ONE core, so a fully used 2-core machine is 200 %. The service's own
   * children (workers, should it ever fork) count as the service. */
  service: number
  postgres: number
  redis: number
  client: number
  /** Everything else, with the biggest other programs named. */
  other: number
  otherTop: { command: string; percent: number }[]
  machine: number
  cores: number
}

export function cpuSnapshot(): CpuSnapshot {
  const snapshot: CpuSnapshot = { at: performance.now(), processes: new Map() }
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      const cpu = processCpu(Number(entry))
      if (cpu !== undefined) snapshot.processes.set(Number(entry), cpu)
    }
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
    const values = ticks.map(Number)
    // user nice system idle iowait irq softirq steal: idle and iowait are the not-busy part.
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0)
    snapshot.machineTotal = total / USER_HZ
    snapshot.machineBusy = (total - values[3] - values[4]) / USER_HZ
  } catch {
    // Not Linux: no split.
  }
  return snapshot
}

export function cpuSplit(before: CpuSnapshot, after: CpuSnapshot, servicePid: number, cores: number): CpuSplit | undefined {
  if (before.machineBusy === undefined || after.machineBusy === undefined) return undefined
  const wall = (after.at - before.at) / 1000
  const byGroup = new Map<string, number>()
  for (const [pid, { command, parent, seconds }] of after.processes) {
    const used = seconds - (before.processes.get(pid)?.seconds ?? 0)
    const group = groupOf(pid, parent, command, servicePid)
    byGroup.set(group, (byGroup.get(group) ?? 0) + (100 * used) / wall)
  }
  const take = (group: string): number => {
    const percent = byGroup.get(group) ?? 0
    byGroup.delete(group)
    return percent
  }
  const [service, postgres, redis, client] = ['service', 'postgres', 'redis', 'client'].map(take) as [number, number, number, number]
  // /proc/stat counts every core's time: the busy share of all cores, as "percent of one core".
  const machine = (100 * cores * (after.machineBusy - before.machineBusy)) / (after.machineTotal! - before.machineTotal!)
  const otherTop = [...byGroup]
    .filter(([, percent]) => percent >= 1)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([command, percent]) => ({ command, percent }))
  // Processes that ended within the window (builds, test runs) show only here, unnamed.
  const other = Math.max(0, machine - service - postgres - redis - client)
  return { service, postgres, redis, client, other, otherTop, machine, cores }
}

function groupOf(pid: number, parent: number, command: string, servicePid: number): string {
  if (pid === servicePid || parent === servicePid) return 'service'
  if (pid === process.pid) return 'client'
  if (command.startsWith('postgres')) return 'postgres'
  if (command.startsWith('redis-server')) return 'redis'
  return command
}

/** How busy the whole machine is, in percent of one core, over `ms`: other work skews every figure. */
export async function machineBusyPercent(ms: number, cores: number): Promise<number | undefined> {
  const before = cpuSnapshot()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const after = cpuSnapshot()
  if (before.machineBusy === undefined || after.machineBusy === undefined) return undefined
  return (100 * cores * (after.machineBusy - before.machineBusy)) / (after.machineTotal! - before.machineTotal!)
}

/**
 * Resident memory of a process and its children (the service's workers), in bytes, from
 * /proc/<pid>/status; undefined without /proc or once the process has gone.
 */
export function residentBytes(pid: number): number | undefined {
  const rss = (of: number): number | undefined => {
    try {
      const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${of}/status`, 'utf8'))?.[1]
      return kib === undefined ? undefined : Number(kib) * 1024
    } catch {
      return undefined
    }
  }
  const own = rss(pid)
  if (own === undefined) return undefined
  let total = own
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && processCpu(Number(entry))?.parent === pid) total += rss(Number(entry)) ?? 0
  }
  return total
}

function processCpu(pid: number): ProcessCpu | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // "pid (command) state ppid ...": after the command, state is field 3, ppid 4, utime 14, stime 15.
  const close = stat.lastIndexOf(')')
  const fields = stat.slice(close + 2).split(' ')
  return {
    command: stat.slice(stat.indexOf('(') + 1, close),
    parent: Number(fields[1]),
    seconds: (Number(fields[11]) + Number(fields[12])) / USER_HZ,
  }
}
