import { fileURLToPath } from 'node:url'
import t from 'tap'
import { findImportCycles, importsBetweenSubfolders, readImportGraph, type ImportGraph } from '../scripts/import-cycles.js'

/**
 * No module of src/ imports, however indirectly, one that imports it back, type-only imports included;
 * no folder of src/ does either (src/a/* importing src/b/* and src/b/* importing src/a/*); and no
 * attestor kind reaches into another's folder. The check reads imports with madge and is shown below
 * to see type-only imports and cycles of folders whose files form no cycle.
 */

const path = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url))
const TS_CONFIG = path('../tsconfig.json')
const src = await readImportGraph(path('../src'), TS_CONFIG)

t.test('src/ has no import cycles between files or between folders', async (t) => {
  t.ok(Object.keys(src).length > 100, 'every file of src/ was read')
  t.ok(src['tokens/introspection.ts']?.includes('jose/jwt-verifier.ts'), 'imports are read as paths under src/')
  const { files, folders } = findImportCycles(src)
  t.same(folders, [], 'no folder imports one that imports it back')
  t.same(files, [], 'no file imports one that imports it back')
})

t.test('the leaves of src/ import nothing above them', async (t) => {
  const outside = (folder: string, allowed: string[]): string[] =>
    Object.entries(src)
      .filter(([file]) => file.startsWith(`${folder}/`))
      .flatMap(([file, imports]) =>
        imports
          .filter((target) => !target.startsWith(`${folder}/`) && !allowed.some((a) => target === a || target.startsWith(`${a}/`)))
          .map((target) => `${file} -> ${target}`),
      )
  t.same(outside('oauth', []), [], 'src/oauth/ imports nothing of ours')
  t.same(outside('jose', ['lib', 'errors.ts', 'config-error.ts']), [], 'src/jose/ imports only src/lib/ and the error classes')
})

t.test("no attestor kind imports another kind's folder", async (t) => {
  t.same(importsBetweenSubfolders(src, 'attestors'), [])
})

t.test('the check sees type-only imports, and cycles of folders whose files form none', async (t) => {
  const graph = await readImportGraph(path('fixtures/import-cycles'), TS_CONFIG)
  t.same(graph['a/one.ts'], ['b/two.ts'], 'a type-only import is an import')
  t.same(findImportCycles(graph), {
    files: [{ members: ['a/one.ts', 'b/two.ts'], example: 'a/one.ts -> b/two.ts -> a/one.ts' }],
    folders: [
      { members: ['a', 'b'], example: 'a -> b -> a' },
      { members: ['c', 'd'], example: 'c -> d -> c' },
    ],
  })
})

t.test('cycles are found however long, and reported one way round', async (t) => {
  const graph: ImportGraph = {
    'x/a.ts': ['x/b.ts'],
    'x/b.ts': ['y/c.ts'],
    'y/c.ts': ['x/a.ts', 'z/d.ts'],
    'z/d.ts': [],
    'root.ts': ['root.ts'],
  }
  t.same(findImportCycles(graph), {
    files: [
      { members: ['root.ts'], example: 'root.ts -> root.ts' },
      { members: ['x/a.ts', 'x/b.ts', 'y/c.ts'], example: 'x/a.ts -> x/b.ts -> y/c.ts -> x/a.ts' },
    ],
    folders: [{ members: ['x', 'y'], example: 'x -> y -> x' }],
  })
  t.same(
    findImportCycles({ 'a/one.ts': ['b/two.ts'], 'b/two.ts': [], 'b/three.ts': ['c/four.ts'], 'c/four.ts': [] }),
    { files: [], folders: [] },
    'a chain is no cycle',
  )
  t.same(
    importsBetweenSubfolders(
      { 'k/aws/kind.ts': ['k/attestor.ts', 'k/aws/config.ts', 'k/gcp/config.ts'], 'k/gcp/config.ts': ['k/namespace.ts'] },
      'k',
    ),
    ['k/aws/kind.ts -> k/gcp/config.ts'],
  )
})
