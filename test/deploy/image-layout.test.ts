import { spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { chmodSync, chownSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { calculateJwkThumbprint, type JWK } from 'jose'
import t, { type Test } from 'tap'
import { numericUser, readInstructions, readRuntimeStage } from '../support/dockerfile.js'
import { eventually } from '../support/eventually.js'
import {
  buildImageLayout,
  imageCommand,
  imageEnvironment,
  listTree,
  removeLayout,
  REPOSITORY,
  runAsImageUser,
  type ImageLayout,
  type Started,
} from '../support/image-layout.js'
import { freePort } from '../support/ports.js'

/**
 * The image as it starts on its own defaults, without Docker: the layout of the Dockerfile's last stage
 * in a directory read-only to the image's user except where its RUN chowns, the compiled server started
 * by its CMD, with its ENV, WORKDIR and USER (only the port is chosen here, free on this shared machine).
 */
const stage = readRuntimeStage(join(REPOSITORY, 'Dockerfile'))
// Four starts on PGlite, each applying every migration: a minute each at worst beside other files.
t.setTimeout(540_000)

t.test('the Dockerfile: Node 24 LTS, multi-stage, a numeric non-root user, exec-form CMD, a HEALTHCHECK', async (t) => {
  t.match(stage.from, /^node:24-[a-z]+-slim$/, 'the runtime stage is on the Node 24 LTS slim image')
  const stages = readInstructions(readFileSync(join(REPOSITORY, 'Dockerfile'), 'utf8')).filter((i) => i.keyword === 'FROM')
  t.same(
    stages.map((i) => i.args),
    [`${stage.from} AS build`, stage.from],
    'built in a stage of its own, on the same base',
  )
  t.ok(
    stage.copies.every((copy) => copy.from === 'build'),
    'the runtime stage takes only what the build stage made',
  )
  const { uid, gid } = numericUser(stage.user)
  t.not(uid, 0, 'not root')
  t.not(gid, 0, 'not the root group')
  t.same(stage.cmd, ['node', 'dist/src/server.js'])
  t.equal(stage.env.NODE_ENV, 'production')
  t.same(stage.expose, [8080])
  t.equal(stage.healthcheck?.cmd[0], 'node', 'the health check needs nothing the slim image lacks (no curl)')
  t.match(stage.healthcheck?.cmd.join(' '), /\/readyz/)
  const owned = new Set(stage.chowned.filter((c) => numericUser(c.owner).uid === uid).map((c) => c.path))
  t.ok(owned.has('/app/data'), 'the data directory belongs to the image user')
  t.ok(owned.has('/app/keys'), 'so does the default keys.dir')
})

const isRoot = process.getuid?.() === 0
const skip = isRoot ? false : 'runs the server as another user: needs root (CI runs as root)'

async function startServer(t: Test, layout: ImageLayout): Promise<Started & { port: number }> {
  const port = await freePort()
  const started = runAsImageUser(layout, stage.cmd, { ...imageEnvironment(stage, layout), PORT: String(port) })
  t.teardown(() => {
    if (started.child.exitCode === null) started.child.kill('SIGKILL')
  })
  return { ...started, port }
}

/**
 * How long a start may take: PGlite applies every migration first, seconds alone and tens of seconds
 * on the 2-core machine beside other test files.
 */
const START_MS = 120_000

/** The status /readyz ends on: 200 once ready (PGlite's migrations take seconds on a busy machine). */
async function readiness(t: Test, server: Started & { port: number }): Promise<number> {
  return eventually(
    t,
    async () => {
      if (server.child.exitCode !== null) throw new Error(`the server exited ${server.child.exitCode}: ${server.output()}`)
      return fetch(`http://127.0.0.1:${server.port}/readyz`).then(
        (r) => r.status,
        () => 0,
      )
    },
    { until: (status) => status === 200, timeoutMs: START_MS, intervalMs: 100, what: '/readyz answers 200' },
  )
}

t.test('on its own defaults it starts as its non-root user, writing only its data directory and key directory', { skip }, async (t) => {
  const layout = buildImageLayout(stage)
  t.teardown(() => removeLayout(layout))
  const before = listTree(layout.root)
  const server = await startServer(t, layout)
  const base = `http://127.0.0.1:${server.port}`

  t.equal(await readiness(t, server), 200, '/readyz answers 200')

  const discovery = await fetch(`${base}/.well-known/oauth-authorization-server`)
  t.equal(discovery.status, 200)
  const metadata = (await discovery.json()) as Record<string, unknown>
  t.equal(metadata.issuer, `http://localhost:${server.port}`, 'development defaults: the issuer is where it listens')
  t.equal(metadata.token_endpoint, `http://localhost:${server.port}/oauth2/token`)
  const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: { kid: string; alg: string }[] }
  t.equal(jwks.keys.length, 1, 'one signing key, made at the first start')
  t.equal(jwks.keys[0].alg, 'ES256')

  // The health check of the Dockerfile, run as the image runs it.
  const health = spawnSync(...imageCommand(stage.healthcheck!.cmd), {
    uid: layout.uid,
    gid: layout.gid,
    env: { PATH: process.env.PATH, ...imageEnvironment(stage, layout), PORT: String(server.port) },
    timeout: 10_000,
  })
  t.equal(health.status, 0, 'HEALTHCHECK passes on a ready server')

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0, 'SIGTERM: drained and exited 0')

  // What it wrote: the PGlite database under data/ledger (the signing keys are in it, sealed) and the
  // development key-encryption key beside it, owned by the image user; nothing anywhere else.
  const written = listTree(layout.root).filter((path) => !before.includes(path))
  t.same(
    written.filter((path) => !path.startsWith('data/ledger/')).sort(),
    ['data/key-encryption-key', 'data/ledger'],
    'written: the data directory and the development key-encryption key only',
  )
  t.ok(written.includes('data/ledger/PG_VERSION'), 'the embedded database is in data/ledger')
  const key = statSync(join(layout.root, 'data', 'key-encryption-key'))
  t.equal(key.uid, layout.uid, 'the key-encryption key belongs to the image user')
  t.equal(key.mode & 0o777, 0o600, 'and only the image user reads it')
})

t.test('a key directory it cannot write but that holds the keys (a read-only Secret volume) is only read', { skip }, async (t) => {
  const layout = buildImageLayout(stage, { skipChown: ['/app/keys'] })
  t.teardown(() => removeLayout(layout))
  // As Kubernetes mounts a Secret with defaultMode 0440 under fsGroup: root's, readable by the group.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  // Made today: an older key would be rotated at once (keys.rotateEveryDays), and a next key published beside it.
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  const file = join(layout.root, 'keys', `sts-${stamp}.key.pem`)
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }))
  chownSync(file, 0, layout.gid)
  chmodSync(file, 0o440)
  const server = await startServer(t, layout)
  t.equal(await readiness(t, server), 200, '/readyz answers 200')
  const jwks = (await (await fetch(`http://127.0.0.1:${server.port}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
  const kid = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK, 'sha256')
  t.same(
    jwks.keys.map((k) => k.kid),
    [kid],
    'the provided key is imported and published, and none was generated',
  )
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
})

t.test('the HEALTHCHECK fails when nothing answers', async (t) => {
  const port = await freePort()
  const health = spawnSync(...imageCommand(stage.healthcheck!.cmd), { env: { PORT: String(port) }, timeout: 10_000 })
  t.equal(health.status, 1)
})

for (const [directory, key, path] of [
  ['/app/data', 'database.dataDir', 'data/ledger'],
  // /app/keys is only read now (PEM keys of an earlier release, imported once): it need not be writable.
] as const) {
  t.test(`${directory} not writable: one clear line naming the volume to mount, exit code 2, no stack trace`, { skip }, async (t) => {
    const layout = buildImageLayout(stage, { skipChown: [directory] })
    t.teardown(() => removeLayout(layout))
    const server = await startServer(t, layout)
    const code = await Promise.race([server.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), START_MS))])
    t.equal(code, 2, 'exit code 2, as for any configuration the service cannot start with')
    const stderr = server.output()
    const absolute = join(layout.root, path)
    t.match(
      stderr,
      `seed-sts: failed to start: invalid configuration:\n  - ${key}: the directory ${absolute} cannot be written by this process (uid ${layout.uid}, EACCES); mount a writable volume at ${absolute}`,
    )
    t.notMatch(stderr, /^\s+at /m, 'no stack trace')
  })
}
