import { readFileSync } from 'node:fs'
import { posix } from 'node:path'

/**
 * The runtime stage of a Dockerfile, as far as a test reproducing the image needs it: a small reader of
 * the instructions this project uses (FROM, ENV, WORKDIR, USER, COPY, RUN, EXPOSE, HEALTHCHECK, CMD),
 * so the test follows the file rather than a copy of its values.
 */
export interface RuntimeStage {
  from: string
  env: Record<string, string>
  workdir: string
  /** `USER` as written: `1000:1000`, `node`... */
  user: string
  /** Exec form only: a shell-form CMD is reported as a problem by the reader. */
  cmd: string[]
  healthcheck: { cmd: string[]; options: Record<string, string> } | undefined
  /** Absolute destinations of COPY (resolved against WORKDIR) with their source stage and path. */
  copies: { from: string | undefined; source: string; destination: string }[]
  /** Paths the RUN instructions `chown` to a uid:gid, with that owner. */
  chowned: { path: string; owner: string }[]
  /** Paths the RUN instructions `chmod`, with the mode. */
  chmodded: { path: string; mode: string }[]
  expose: number[]
}

interface Instruction {
  keyword: string
  args: string
}

/** The instructions, with comments dropped and continuation lines joined. */
export function readInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (pending === '' && (line === '' || line.startsWith('#'))) continue
    if (pending !== '' && line.startsWith('#')) continue
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `
      continue
    }
    const whole = (pending + line).trim()
    pending = ''
    const match = /^(\S+)\s+([\s\S]*)$/.exec(whole)
    if (match) instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim() })
  }
  return instructions
}

/** The last stage of the Dockerfile at `file`. */
export function readRuntimeStage(file: string): RuntimeStage {
  const instructions = readInstructions(readFileSync(file, 'utf8'))
  const last = instructions.map((i) => i.keyword).lastIndexOf('FROM')
  if (last < 0) throw new Error(`${file} has no FROM`)
  const stage: RuntimeStage = {
    from: instructions[last].args.split(/\s+/)[0],
    env: {},
    workdir: '/',
    user: 'root',
    cmd: [],
    healthcheck: undefined,
    copies: [],
    chowned: [],
    chmodded: [],
    expose: [],
  }
  for (const { keyword, args } of instructions.slice(last + 1)) {
    switch (keyword) {
      case 'ENV':
        Object.assign(stage.env, readEnv(args))
        break
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args)
        break
      case 'USER':
        stage.user = args
        break
      case 'CMD':
        stage.cmd = execForm(args, 'CMD')
        break
      case 'HEALTHCHECK':
        stage.healthcheck = readHealthcheck(args)
        break
      case 'COPY':
        stage.copies.push(readCopy(args, stage.workdir))
        break
      case 'RUN':
        readRun(args, stage)
        break
      case 'EXPOSE':
        stage.expose.push(...args.split(/\s+/).map((port) => Number(port.split('/')[0])))
        break
      default:
        break
    }
  }
  return stage
}

function readEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {}
  // KEY=value pairs (values unquoted or double-quoted); the legacy `ENV KEY value` form too.
  const pairs = [...args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)]
  if (pairs.length === 0) {
    const [key, ...value] = args.split(/\s+/)
    env[key] = value.join(' ')
    return env
  }
  for (const [, key, value] of pairs) env[key] = value.startsWith('"') ? (JSON.parse(value) as string) : value
  return env
}

function execForm(args: string, what: string): string[] {
  if (!args.startsWith('[')) throw new Error(`${what} must be in exec form (a JSON array), not "${args}": signals reach node only then`)
  return JSON.parse(args) as string[]
}

function readHealthcheck(args: string): RuntimeStage['healthcheck'] {
  const options: Record<string, string> = {}
  let rest = args
  for (let match = /^--(\S+?)=(\S+)\s+/.exec(rest); match; match = /^--(\S+?)=(\S+)\s+/.exec(rest)) {
    options[match[1]] = match[2]
    rest = rest.slice(match[0].length)
  }
  if (!rest.startsWith('CMD ')) throw new Error(`HEALTHCHECK must be "CMD [...]", not "${rest}"`)
  return { cmd: execForm(rest.slice('CMD '.length).trim(), 'HEALTHCHECK CMD'), options }
}

function readCopy(args: string, workdir: string): RuntimeStage['copies'][number] {
  const words = args.split(/\s+/)
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length)
  const paths = words.filter((w) => !w.startsWith('--'))
  if (paths.length !== 2) throw new Error(`COPY with one source and one destination expected: "${args}"`)
  return { from, source: paths[0], destination: posix.resolve(workdir, paths[1]) }
}

/** `chown U:G paths...` and `chmod MODE paths...` in each `&&`-joined command of a RUN. */
function readRun(args: string, stage: RuntimeStage): void {
  for (const command of args.split('&&').map((c) => c.trim().split(/\s+/))) {
    const [program, first, ...paths] = command
    if (program === 'chown' && first)
      stage.chowned.push(...paths.map((path) => ({ path: posix.resolve(stage.workdir, path), owner: first })))
    if (program === 'chmod' && first)
      stage.chmodded.push(...paths.map((path) => ({ path: posix.resolve(stage.workdir, path), mode: first })))
  }
}

/** `1000:1000` → {uid: 1000, gid: 1000}; a name is refused (Kubernetes' runAsNonRoot cannot check one). */
export function numericUser(user: string): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(user)
  if (!match) throw new Error(`USER "${user}" is not numeric`)
  const uid = Number(match[1])
  return { uid, gid: match[2] === undefined ? uid : Number(match[2]) }
}
