import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { packageRoot } from '../../src/lib/package-root.js'

t.test('the root is the nearest directory above with a package.json, however deep the code runs', async (t) => {
  const root = t.testdir({
    'package.json': '{}',
    src: { lib: { 'module.js': '' } },
    dist: { src: { lib: { 'module.js': '' } } },
    nested: { 'package.json': '{}', deeper: { 'module.js': '' } },
  })
  const cases: [string, string, string][] = [
    ['src/lib/module.js', root, 'running from src/'],
    ['dist/src/lib/module.js', root, 'running from dist/src/'],
    ['package.json', root, 'a file beside the package.json'],
    ['nested/deeper/module.js', join(root, 'nested'), 'the nearest package.json wins'],
  ]
  for (const [from, expected, why] of cases) t.equal(packageRoot(join(root, from)), expected, why)
})

t.test('without a package.json above, it says so rather than guess a directory', async (t) => {
  t.throws(() => packageRoot('/no-such-directory/module.js'), {
    message: 'cannot find the files shipped with the service: no package.json above /no-such-directory',
  })
})

t.test("the service's shipped files are found from this checkout", async (t) => {
  const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
  t.equal(packageRoot(), root)
  t.ok(existsSync(join(packageRoot(), 'migrations')), 'migrations/ ships with the service')
  t.ok(existsSync(join(packageRoot(), 'keys', 'aws')), 'keys/aws/ ships with the service')
})
