import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix, relative } from 'node:path'
import { numericUser, type RuntimeStage } from './dockerfile.js'

/** The repository: where the build stage's /app comes from. */
export const REPOSITORY = new URL('../..', import.meta.url).pathname

/** What .dockerignore keeps out of the build context under keys/: private keys never enter the image. */
const NEVER_COPIED = /\.key\.pem$|\.tmp$/

export interface ImageLayout {
  /** The directory standing for the image's WORKDIR. */
  root: string
  /** The path in this layout of a path in the image. */
  at(imagePath: string): string
  uid: number
  gid: number
}

/**
 * The runtime stage's file system, reproduced in a temporary directory: each `COPY --from=build` of the
 * build stage's /app (which is the repository, built: dist/ must exist), owned by root and read-only to
 * everyone else, then the `chown`s and `chmod`s of its RUN instructions, except those of `skipChown`.
 * node_modules is a symbolic link to the repository's: the same packages, dev ones included.
 */
export function buildImageLayout(stage: RuntimeStage, options: { skipChown?: string[] } = {}): ImageLayout {
  if (!existsSync(join(REPOSITORY, 'dist', 'src', 'server.js'))) throw new Error('dist/src/server.js is missing: run `npm run build` first')
  const root = mkdtempSync(join(tmpdir(), 'sts-image-'))
  chmodSync(root, 0o755)
  const at = (imagePath: string): string => {
    const inside = posix.relative(stage.workdir, imagePath)
    if (inside.startsWith('..')) throw new Error(`${imagePath} is outside the WORKDIR ${stage.workdir}`)
    return join(root, inside)
  }
  for (const copy of stage.copies) {
    if (copy.from !== 'build' || !copy.source.startsWith('/app/'))
      throw new Error(`COPY not understood by this test: ${JSON.stringify(copy)}`)
    const source = join(REPOSITORY, copy.source.slice('/app/'.length))
    const destination = at(copy.destination)
    if (copy.source === '/app/node_modules') {
      symlinkSync(source, destination)
      continue
    }
    cpSync(source, destination, { recursive: true, filter: (path) => !NEVER_COPIED.test(path) })
  }
  for (const { path, owner } of stage.chowned) {
    if (options.skipChown?.includes(path)) continue
    mkdirSync(at(path), { recursive: true })
    const { uid, gid } = numericUser(owner)
    chownSync(at(path), uid, gid)
  }
  for (const { path, mode } of stage.chmodded) {
    mkdirSync(at(path), { recursive: true })
    chmodSync(at(path), parseInt(mode, 8))
  }
  const { uid, gid } = numericUser(stage.user)
  return { root, at, uid, gid }
}

/** Every path under `dir` (symbolic links not followed), relative to it. */
export function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .filter((path) => !path.startsWith('node_modules/'))
    .sort()
}

export interface Started {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/**
 * An exec-form command of the image (`node ...`) as [program, args] to spawn here. Through `env -u
 * NODE_OPTIONS`: tap gives every process a test spawns its own loader in NODE_OPTIONS, which the image
 * never has (and which would try to write tap's files as the image user).
 */
export function imageCommand(command: string[]): [string, string[]] {
  const [program, ...args] = command
  if (program !== 'node') throw new Error(`only node commands are reproduced, not ${program}`)
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...args]]
}

/** Runs an exec-form command of the image in the layout as the image's user. */
export function runAsImageUser(layout: ImageLayout, command: string[], env: Record<string, string>): Started {
  const [program, args] = imageCommand(command)
  const child = spawn(program, args, {
    cwd: layout.root,
    uid: layout.uid,
    gid: layout.gid,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk) => (output += chunk))
  child.stderr?.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

/** The image's ENV, with paths in the image mapped into the layout. */
export function imageEnvironment(stage: RuntimeStage, layout: ImageLayout): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(stage.env)) {
    env[key] = value.startsWith(`${stage.workdir}/`) || value === stage.workdir ? layout.at(value) : value
  }
  return env
}

export function removeLayout(layout: ImageLayout): void {
  rmSync(layout.root, { recursive: true, force: true })
}
