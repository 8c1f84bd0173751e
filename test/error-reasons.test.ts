import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ERROR_REASONS } from '../src/error-reasons.js'
import { doc } from './support/openapi-check.js'

/**
 * The reasons are a published vocabulary: the code, openapi.yaml and README.md list the same ones,
 * and no reason is listed that nothing raises.
 */

const REASONS = Object.keys(ERROR_REASONS)
const root = new URL('..', import.meta.url).pathname

t.test('every reason is stable snake_case and said once', async (t) => {
  for (const reason of REASONS) t.match(reason, /^[a-z]+(_[a-z]+)*$/, reason)
  t.equal(new Set(REASONS).size, REASONS.length)
})

t.test("openapi.yaml's ErrorReason lists exactly the reasons, in the same order", async (t) => {
  t.same(doc.components.schemas.ErrorReason.enum, REASONS)
})

t.test('README.md has a row for each reason, in the same order', async (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Error reasons'))
  const table = section.slice(0, section.indexOf('\n#'))
  const listed = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1])
  t.same(listed, REASONS)
})

t.test('every reason is raised somewhere in src/', async (t) => {
  const sources = filesUnder(join(root, 'src'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('error-reasons.ts'))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n')
  for (const reason of REASONS) t.ok(sources.includes(`'${reason}'`), `${reason} is raised`)
})

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}
