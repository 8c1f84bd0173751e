import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * Import cycles in a source tree, between files and between folders, type-only imports included (a
 * type-only cycle still means two modules cannot be understood, or moved, one without the other).
 * test/import-cycles.test.ts runs this over src/ with every `npm test`; by hand, after `npm run build`:
 * `node dist/scripts/import-cycles.js src` prints what it finds and exits non-zero if anything is.
 *
 * madge reads the imports; finding the cycles is done here, so that files and folders are judged by one
 * algorithm and the judgement can be tested on graphs written by hand.
 */

/** Each file's imports of files in the same tree, by paths relative to its root: what madge's obj() answers. */
export type ImportGraph = Readonly<Record<string, readonly string[]>>

export interface ImportCycle {
  /** The files, or folders, that import one another, sorted. */
  members: string[]
  /** One way round: `a -> b -> a`. */
  example: string
}

export interface ImportCycles {
  files: ImportCycle[]
  /** Top-level folders (a file at the root counts as a folder of its own) whose files import one another's. */
  folders: ImportCycle[]
}

interface Madge {
  obj(): Record<string, string[]>
  warnings(): { skipped: string[] }
}
type MadgeFunction = (path: string, config: Record<string, unknown>) => Promise<Madge>

/**
 * Reads the imports of every `.ts` file under `root` with madge, type-only and dynamic imports included.
 * Throws if an import cannot be resolved to a file, or a file is missing from the graph: a check that
 * cannot read the imports would find no cycle and prove nothing.
 */
export async function readImportGraph(root: string, tsConfig: string): Promise<ImportGraph> {
  // madge ships no type declarations: its boundary is typed here, by what this file uses of it.
  const madge = createRequire(import.meta.url)('madge') as MadgeFunction
  const result = await madge(root, {
    fileExtensions: ['ts'],
    tsConfig,
    detectiveOptions: { ts: { skipTypeImports: false, skipAsyncImports: false } },
  })
  // A package of ours installed as a dependency (node_modules/@seed-sts/client, linked to packages/) is
  // outside the tree, as npm's packages are; madge cannot resolve one that has only `exports` to a file.
  const skipped = result.warnings().skipped.filter((name) => !isInstalledPackage(name, root))
  if (skipped.length > 0) throw new Error(`imports that cannot be resolved to a file: ${skipped.join(', ')}`)
  const graph = result.obj()
  const missing = listTypeScriptFiles(root).filter((file) => !(file in graph))
  if (missing.length > 0) throw new Error(`files madge did not read: ${missing.join(', ')}`)
  return graph
}

/** Whether `name` is a bare package name installed in a node_modules folder at or above `from`. */
function isInstalledPackage(specifier: string, from: string): boolean {
  // The package's name, without a subpath of its `exports` (`@seed-sts/client/glob`).
  const name = /^((?:@[\w.-]+\/)?[\w.-]+)(?:\/[\w./-]+)?$/.exec(specifier)?.[1]
  if (name === undefined) return false
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return true
    if (dirname(dir) === dir) return false
  }
}

/** Every cycle of files and every cycle of folders in `graph`. */
export function findImportCycles(graph: ImportGraph): ImportCycles {
  return { files: cyclesOf(graph), folders: cyclesOf(folderGraph(graph)) }
}

/**
 * Imports from one subfolder of `parent` into another: e.g. one attestor kind (src/attestors/<kind>/)
 * reaching into another's folder, where each kind must stand alone in the catalog.
 */
export function importsBetweenSubfolders(graph: ImportGraph, parent: string): string[] {
  const subfolderOf = (file: string): string | undefined => {
    const rest = file.startsWith(`${parent}/`) ? file.slice(parent.length + 1) : undefined
    return rest?.includes('/') ? rest.slice(0, rest.indexOf('/')) : undefined
  }
  return Object.entries(graph).flatMap(([file, imports]) => {
    const from = subfolderOf(file)
    if (from === undefined) return []
    return imports
      .filter((target) => subfolderOf(target) !== undefined && subfolderOf(target) !== from)
      .map((target) => `${file} -> ${target}`)
  })
}

/** The folder a file belongs to for the folder check: its first path segment, or itself at the root. */
function folderOf(file: string): string {
  const slash = file.indexOf('/')
  return slash === -1 ? file : file.slice(0, slash)
}

function folderGraph(graph: ImportGraph): ImportGraph {
  const folders = new Map<string, Set<string>>()
  for (const [file, imports] of Object.entries(graph)) {
    const from = folderOf(file)
    const targets = folders.get(from) ?? new Set<string>()
    folders.set(from, targets)
    for (const target of imports) if (folderOf(target) !== from) targets.add(folderOf(target))
  }
  return Object.fromEntries([...folders].map(([folder, targets]) => [folder, [...targets]]))
}

/** The strongly connected components of more than one node, or of one that imports itself (Tarjan). */
function cyclesOf(graph: ImportGraph): ImportCycle[] {
  const index = new Map<string, number>()
  const lowLink = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: ImportCycle[] = []
  const visit = (node: string): void => {
    index.set(node, index.size)
    lowLink.set(node, index.get(node)!)
    stack.push(node)
    onStack.add(node)
    for (const next of graph[node] ?? []) {
      if (!index.has(next)) {
        visit(next)
        lowLink.set(node, Math.min(lowLink.get(node)!, lowLink.get(next)!))
      } else if (onStack.has(next)) {
        lowLink.set(node, Math.min(lowLink.get(node)!, index.get(next)!))
      }
    }
    if (lowLink.get(node) !== index.get(node)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== node)
    if (component.length > 1 || (graph[node] ?? []).includes(node)) {
      const members = component.sort()
      cycles.push({ members, example: exampleCycle(graph, members[0], new Set(members)).join(' -> ') })
    }
  }
  for (const node of Object.keys(graph).sort()) if (!index.has(node)) visit(node)
  return cycles.sort((a, b) => a.members[0].localeCompare(b.members[0]))
}

/** The shortest way from `start` back to itself through `members` (breadth first). */
function exampleCycle(graph: ImportGraph, start: string, members: ReadonlySet<string>): string[] {
  const cameFrom = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const node = queue.shift()!
    for (const next of graph[node] ?? []) {
      if (!members.has(next)) continue
      if (next === start) {
        const path = [node]
        while (path[0] !== start) path.unshift(cameFrom.get(path[0])!)
        return [...path, start]
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node)
        queue.push(next)
      }
    }
  }
  return [start]
}

function listTypeScriptFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return listTypeScriptFiles(root, path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [relative(root, path).split('\\').join('/')] : []
  })
}

async function main(root = 'src'): Promise<void> {
  const { files, folders } = findImportCycles(await readImportGraph(resolve(root), resolve('tsconfig.json')))
  for (const cycle of folders) console.log(`folders: ${cycle.example}`)
  for (const cycle of files) console.log(`files: ${cycle.example}`)
  console.log(`${folders.length} folder cycles, ${files.length} file cycles in ${root}`)
  if (folders.length + files.length > 0) process.exitCode = 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv[2])
}
