// `npm run prepare`: npm runs it after every local `npm ci` and `npm install`, so the `sts` command
// (bin: dist/src/cli/main.js) works right after an install. Since npm 7 it runs with --omit=dev too,
// where TypeScript is absent, and the image's first `npm ci` has package.json alone: there it does not
// build, and says so. Where it builds, a failed build fails the install rather than hiding.
// Plain JavaScript because it runs before anything is compiled.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import process from 'node:process'

const root = process.cwd()
const require = createRequire(join(root, 'package.json'))

function hasTypeScript() {
  try {
    require.resolve('typescript/package.json')
    return true
  } catch {
    return false
  }
}

if (!existsSync(join(root, 'tsconfig.build.json')) || !hasTypeScript()) {
  process.stdout.write('prepare: no TypeScript or no sources here (a production install, or dependencies only): not building\n')
  process.exit(0)
}
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' })
process.exit(build.status ?? 1)
