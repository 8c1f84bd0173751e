import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../src/app.js'
import { composeServices } from '../src/compose.js'
import { DEVELOPMENT_DEFAULTS, parseConfig } from '../src/config.js'
import { createLogger } from '../src/lib/logger.js'
import { renderYaml } from '../src/http/openapi/yaml.js'

/**
 * `npm run openapi`: writes openapi.yaml from the routes, as test/http/openapi/api-description.test.ts
 * expects it. The app is built as `npm start` builds it, on the embedded defaults (PGlite in memory, a
 * signing key in a temporary directory), and asked for its description; nothing listens. The document
 * does not depend on the configuration: every route is registered whatever is configured, but for
 * /metrics, which is on the main port by default (as here) and moves or goes with `metrics.port` and
 * `metrics.enabled`.
 */

const OPENAPI_YAML = fileURLToPath(new URL('../../openapi.yaml', import.meta.url))

async function main(): Promise<void> {
  const keysDir = mkdtempSync(join(tmpdir(), 'seed-sts-openapi-'))
  try {
    const config = parseConfig({ ...DEVELOPMENT_DEFAULTS, database: { dataDir: 'memory://' }, keys: { dir: keysDir } })
    const services = await composeServices(config, createLogger('error'))
    try {
      const app = await buildApp(services)
      await app.ready()
      const written = renderYaml(app.apiDescription())
      const before = readFileSync(OPENAPI_YAML, 'utf8')
      writeFileSync(OPENAPI_YAML, written)
      process.stdout.write(written === before ? 'openapi.yaml is up to date\n' : 'openapi.yaml rewritten from the routes\n')
      await app.close()
    } finally {
      await services.close()
    }
  } finally {
    rmSync(keysDir, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`openapi: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
