import { execFileSync } from 'node:child_process'
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from './ports.js'

/**
 * A Postgres cluster of the test's own (initdb as the `postgres` user, on a free port), never the
 * shared 5432: for tests that need a server configured their own way (TLS). `binaries()` says why
 * none can be made here, for the test to skip with that reason.
 */
export interface OwnPostgres {
  port: number
  dir: string
}

/** Where initdb and pg_ctl are, or why they cannot be used. */
export function postgresBinaries(): { bin: string } | { unavailable: string } {
  const candidates = ['/usr/local/bin', ...versionDirs()]
  const bin = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
  if (!bin) return { unavailable: 'initdb and pg_ctl are not installed (Debian: postgresql)' }
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' })
  } catch {
    return { unavailable: 'there is no postgres user to run initdb as' }
  }
  if (process.getuid?.() !== 0) return { unavailable: 'running initdb as postgres needs root' }
  return { bin }
}

function versionDirs(): string[] {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return []
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'))
}

/**
 * initdb, then `configure` writes what it needs into the data directory (files it creates are given to
 * postgres), then pg_ctl starts it; stopped (immediate) and deleted when the test ends.
 */
export async function startOwnPostgres(
  t: Test,
  bin: string,
  configure: (dir: string) => { conf: string[]; hba: string[] },
): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'sts-postgres-'))
  const data = join(dir, 'data')
  const owner = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
  const group = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  chownSync(dir, owner, group)
  const asPostgres = (command: string, args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { stdio: 'pipe', timeout: 60_000 })
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync'])
  const port = await freePort()
  const { conf, hba } = configure(dir)
  for (const file of readdirSync(dir)) {
    if (file === 'data') continue
    chownSync(join(dir, file), owner, group)
    chmodSync(join(dir, file), 0o600)
  }
  appendFileSync(
    join(data, 'postgresql.conf'),
    [`port = ${port}`, `listen_addresses = '127.0.0.1,::1'`, `unix_socket_directories = '${dir}'`, 'fsync = off', ...conf, ''].join('\n'),
  )
  writeFileSync(join(data, 'pg_hba.conf'), [...hba, ''].join('\n'))
  t.teardown(() => {
    try {
      asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'])
    } catch {
      // Not running.
    }
    rmSync(dir, { recursive: true, force: true })
  })
  asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'])
  return { port, dir }
}
