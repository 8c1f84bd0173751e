import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { readOrCreateNonce } from '../../src/attestations/aws-nonce.js'

function directory(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-nonce-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Starts `count` processes that each read-or-create the nonce at `path`, all at once (each waits for a
 * go file once loaded); resolves with what each got.
 */
async function race(path: string, count: number): Promise<string[]> {
  const script = fileURLToPath(new URL('../support/nonce-probe.ts', import.meta.url))
  const loader = process.execArgv.filter((flag) => flag.includes('typescript'))
  const signals = mkdtempSync(join(tmpdir(), 'sts-nonce-go-'))
  const go = join(signals, 'go')
  let ready = 0
  let allReady: () => void = () => {}
  const started = new Promise<void>((resolve) => (allReady = resolve))
  const runs = Array.from({ length: count }, () => {
    const child = spawn(process.execPath, [...loader, script, path, go], { stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.startsWith('ready\n') && output.length === 'ready\n'.length && ++ready === count) allReady()
    })
    return new Promise<string>((resolve, reject) =>
      child.on('exit', (code) => (code === 0 ? resolve(output.slice('ready\n'.length).trim()) : reject(new Error(`probe exited ${code}`)))),
    )
  })
  await started
  writeFileSync(go, '')
  try {
    return await Promise.all(runs)
  } finally {
    rmSync(signals, { recursive: true, force: true })
  }
}

t.test('processes starting together on a fresh instance agree on one nonce; only one of them wrote it', async (t) => {
  const dir = directory(t)
  const path = join(dir, 'aws-nonce')
  const nonces = await race(path, 6)
  t.equal(new Set(nonces).size, 1, `one nonce for six processes: ${nonces.join(' ')}`)
  t.equal(readFileSync(path, 'utf8'), `${nonces[0]}\n`)
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.same(readdirSync(dir), ['aws-nonce'], 'no temporary file is left behind')
  t.equal(await readOrCreateNonce(path), nonces[0], 'and a restart reads it again')
})

t.test('a nonce made by the README shell snippet is read as it is; a loose or malformed file is refused', async (t) => {
  const dir = directory(t)
  const path = join(dir, 'sts-nonce')
  const shell = '5f0c3a9b7d2e41f8a6c0b3d9e7f1a2c4b6d8e0f2a4c6e8b0d2f4a6c8e0b2d4f6'
  writeFileSync(path, `${shell}\n`, { mode: 0o600 })
  t.equal(await readOrCreateNonce(path), shell)

  chmodSync(path, 0o644)
  await t.rejects(readOrCreateNonce(path), {
    name: 'AttestationError',
    retryable: false,
    message: `the nonce file ${path} has mode 0644; it must be readable by its owner only (chmod 600)`,
  })
  writeFileSync(join(dir, 'short'), 'abc\n', { mode: 0o600 })
  await t.rejects(readOrCreateNonce(join(dir, 'short')), {
    name: 'AttestationError',
    retryable: false,
    message: `the nonce file ${join(dir, 'short')} does not hold a nonce (16 to 256 visible ASCII characters)`,
  })
})
