import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Reads the V8 CPU profile the service wrote under `node --cpu-prof` and says where its busy time
 * went. Node's own internals and native calls (a socket `writev`, a JSON parse) are charged to the
 * package or service module that called them, so "pg" means the time the ledger's driver cost,
 * socket writes included; signing and verifying stay apart as "node:crypto".
 */

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
}

export interface ProfileShare {
  name: string
  percent: number
}

export interface ProfileSummary {
  file: string
  /** Share of the profiled time the process was not idle. */
  busyPercent: number
  /** Shares of busy time. */
  functions: ProfileShare[]
  areas: ProfileShare[]
}

export function summariseCpuProfile(dir: string, top = 15): ProfileSummary | undefined {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
  if (file === undefined) return undefined
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
  const owners = new OwnerIndex(profile.nodes)
  const byFunction = new Map<string, number>()
  const byArea = new Map<string, number>()
  let total = 0
  let idle = 0
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    if (hits === 0) continue
    total += hits
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') {
      idle += hits
      continue
    }
    const area = owners.areaOf(node)
    const own = ownArea(url)
    const where = url === '' ? '' : ` ${shortUrl(url)}:${lineNumber + 1}`
    const name = `${functionName || '(anonymous)'}${where}${own === area || area === functionName ? '' : ` [for ${area}]`}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits)
    byArea.set(area, (byArea.get(area) ?? 0) + hits)
  }
  const busy = total - idle
  const shares = (map: Map<string, number>, limit: number): ProfileShare[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, hits]) => ({ name, percent: (100 * hits) / Math.max(1, busy) }))
  return {
    file: join(dir, file),
    busyPercent: (100 * busy) / Math.max(1, total),
    functions: shares(byFunction, top),
    areas: shares(byArea, 12),
  }
}

/** Who a frame works for: itself if it is our code or a package's, else the nearest such caller. */
class OwnerIndex {
  private readonly parent = new Map<number, ProfileNode>()
  private readonly memo = new Map<number, string>()

  constructor(nodes: readonly ProfileNode[]) {
    const byId = new Map(nodes.map((node) => [node.id, node]))
    for (const node of nodes) for (const child of node.children ?? []) this.parent.set(child, byId.get(node.id)!)
  }

  areaOf(node: ProfileNode): string {
    const known = this.memo.get(node.id)
    if (known !== undefined) return known
    const { functionName, url } = node.callFrame
    let area: string
    if (functionName.startsWith('(') && url === '')
      area = functionName // (garbage collector), (program)
    else if (url.startsWith('node:internal/crypto')) area = 'node:crypto'
    else if (isOwner(url)) area = ownArea(url)
    else {
      const parent = this.parent.get(node.id)
      const inherited = parent === undefined ? undefined : this.areaOf(parent)
      // Called from the event loop with no package above it (HTTP parsing, socket reads): Node's own.
      area = inherited === undefined || inherited.startsWith('(') ? ownArea(url) : inherited
    }
    this.memo.set(node.id, area)
    return area
  }
}

function isOwner(url: string): boolean {
  return url.includes('/node_modules/') || url.includes('/dist/src/')
}

function ownArea(url: string): string {
  if (url === '') return '(native)'
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/')
    return `node:${parts[0] === 'internal' && parts.length > 1 ? parts[1] : parts[0]}`.replace(/^node:_?(http|stream)\w*$/, 'node:$1')
  }
  const modules = url.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const dist = url.indexOf('/dist/src/')
  if (dist >= 0)
    return `seed-sts ${url
      .slice(dist + '/dist/src/'.length)
      .split('/')[0]
      .replace(/\.js$/, '')}`
  return shortUrl(url)
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/')
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length)
  const dist = url.indexOf('/dist/')
  if (dist >= 0) return url.slice(dist + '/dist/'.length)
  return url.replace(/^file:\/\//, '')
}
