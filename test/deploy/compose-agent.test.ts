import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { parseAgentConfig } from '../../src/agent/agent-config.js'
import { parseConfig } from '../../src/config.js'
import { numericUser, readRuntimeStage } from '../support/dockerfile.js'
import { REPOSITORY } from '../support/kubernetes-manifests.js'

/**
 * docker-compose.agent.yml: the agent's configuration is one it accepts, and agrees with what compose
 * gives it (the STS service, the mounted attestation, the shared token volume, the health port), and
 * the application can read the files the agent writes.
 */

interface ComposeService {
  image?: string
  command?: string[]
  user?: string
  volumes?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  read_only?: boolean
  cap_drop?: string[]
}
interface ComposeFile {
  services: Record<string, ComposeService>
  volumes?: Record<string, { driver_opts?: Record<string, string> } | null>
}

const read = (name: string) => readFileSync(join(REPOSITORY, name), 'utf8')
const overlayFile = parseYaml(read('docker-compose.agent.yml')) as ComposeFile
// docker-compose.yml shares its services' settings through YAML merge keys (`<<: *sts`).
const baseFile = parseYaml(read('docker-compose.yml'), { merge: true }) as ComposeFile
const agent = overlayFile.services['sts-agent']
const app = overlayFile.services.app
/** `source:target[:ro]` of a service's volumes, by target. */
const mounts = (service: ComposeService) =>
  new Map(
    (service.volumes ?? []).map((volume) => {
      const [source, target, mode] = volume.split(':')
      return [target, { source, readOnly: mode === 'ro' }]
    }),
  )
const agentMounts = mounts(agent)
const configPath = agent.command!.at(-1)!
const configMount = agentMounts.get(configPath)!
const config = parseAgentConfig(parseYaml(read(configMount.source)), '/etc/sts-agent')

t.test('the agent runs the image docker-compose.yml builds, on deploy/agent-compose.yaml', async (t) => {
  t.equal(agent.image, baseFile.services['sts-1'].image)
  const bin = (JSON.parse(read('package.json')) as { bin: { sts: string } }).bin.sts
  t.same(agent.command, ['node', bin, 'agent', '--config', configPath])
  t.same(configMount, { source: './deploy/agent-compose.yaml', readOnly: true })
})

t.test('it asks the STS by its service name, once that is healthy, with the audience it expects', async (t) => {
  t.equal(config.sts, 'http://sts-1:8080')
  t.ok(baseFile.services['sts-1'], 'a service of docker-compose.yml')
  t.same(agent.depends_on, { 'sts-1': { condition: 'service_healthy' } })
  const stsConfig = parseConfig({
    ...(parseYaml(read('deploy/compose-config.yaml')) as object),
    keys: { encryptionKey: Buffer.alloc(32).toString('base64') },
  })
  t.match(read(configMount.source), `--audience ${stsConfig.audience}`, "the attestation is made for the STS's audience")
  t.match(read('docker-compose.agent.yml'), `--audience ${stsConfig.audience}`)
})

t.test('the attestation is the mounted file, kept out of git and of the image', async (t) => {
  t.equal(config.attestation.kind, 'file')
  const path = config.attestation.kind === 'file' ? config.attestation.path : ''
  const [directory, mount] = [...agentMounts].find(([target]) => path.startsWith(`${target}/`))!
  t.same(mount, { source: './deploy/agent-attestation', readOnly: true }, directory)
  t.match(read('.gitignore'), /^deploy\/agent-attestation\/$/m)
  t.match(read('.dockerignore'), /^deploy\/agent-attestation$/m)
})

t.test('the token files are in the in-memory volume the application reads, as the user the agent writes them as', async (t) => {
  const [target, tokens] = [...agentMounts].find(([, m]) => overlayFile.volumes?.[m.source] !== undefined)!
  t.equal(tokens.readOnly, false, 'the agent writes there')
  for (const { file } of config.tokens) t.match(file, new RegExp(`^${target}/[^/]+$`), `${file} is in the shared volume`)
  const appMount = [...mounts(app)].find(([, m]) => m.source === tokens.source)!
  t.same(appMount, [target, { source: tokens.source, readOnly: true }], 'the application reads it, at the same path')
  t.match(app.command!.join('\n'), config.tokens[0].file)
  // The files are 0600: the application must be the agent's user, the image's.
  const { uid, gid } = numericUser(readRuntimeStage(join(REPOSITORY, 'Dockerfile')).user)
  t.equal(app.user, `${uid}:${gid}`)
  t.same(overlayFile.volumes?.[tokens.source]?.driver_opts, { type: 'tmpfs', device: 'tmpfs', o: `uid=${uid},gid=${gid},mode=0700` })
  t.same(app.depends_on, { 'sts-agent': { condition: 'service_healthy' } }, 'it starts once there is a token')
})

t.test("the healthcheck asks the agent's /readyz on its health port", async (t) => {
  t.equal(config.health?.port, 8090)
  t.match(agent.healthcheck!.test.join(' '), `fetch('http://127.0.0.1:${config.health!.port}/readyz')`)
  for (const service of [agent, app]) {
    t.equal(service.read_only, true)
    t.same(service.cap_drop, ['ALL'])
  }
})
