#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { GLOBAL_OPTIONS, parseCommandLine, type ParsedArgs } from './args.js'
import { AdminClient, type Fetch } from './client.js'
import type { Action, Command, CommandGroup, Output } from './command.js'
import { loadCliConfig, type CliEnvironment } from './config.js'
import { ApiError, ExitCode, UnreachableError, UsageError } from './errors.js'
import { adminTokenCommands } from './admin-tokens.js'
import { grantCommands } from './grants.js'
import { identityCommands } from './identities.js'
import { keyCommands } from './keys.js'
import { ledgerCommand } from './ledger.js'
import { ledgerVerifyCommand } from './ledger-verify.js'
import { registrationCommands } from './registrations.js'
import { reportCommands } from './reports.js'
import { revocationCommands, revokeCommands } from './revocations.js'
import { printable } from './table.js'

/** The command line of the admin API: `sts <command> [options]`. */

const ENTRIES: readonly (CommandGroup | Command)[] = [
  grantCommands,
  revokeCommands,
  revocationCommands,
  ledgerCommand,
  ledgerVerifyCommand,
  identityCommands,
  reportCommands,
  registrationCommands,
  keyCommands,
  adminTokenCommands,
]

export interface CliIo extends Output {
  /** The fetch to call the service with; the global one by default. */
  fetch?: Fetch
}

/**
 * Runs one `sts` command line and resolves to its exit code (see `ExitCode`); never throws, never
 * exits the process. Everything it reads comes in through its arguments.
 *
 * @example
 * const code = await run(['grants', 'list', '--json'], { STS_URL: 'http://127.0.0.1:8080', STS_ADMIN_TOKEN: token },
 *   { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) })
 */
export async function run(argv: readonly string[], env: CliEnvironment, io: CliIo): Promise<ExitCode> {
  try {
    return await dispatch(argv, env, io)
  } catch (error) {
    return report(error, io)
  }
}

async function dispatch(argv: readonly string[], env: CliEnvironment, io: CliIo): Promise<ExitCode> {
  const words = commandWords(argv)
  const helpWord = words[0]?.value === 'help'
  const [first, second] = helpWord ? words.slice(1) : words
  const consumed = new Set([...(helpWord ? [words[0].index] : [])])
  const rest = () => argv.filter((_, i) => !consumed.has(i))
  const wantsHelp = () => helpWord || rest().some((arg) => arg === '--help' || arg === '-h')

  if (first === undefined) {
    if (wantsHelp()) return help(io, topHelp())
    io.stderr(topHelp())
    throw new UsageError(['missing command'])
  }
  consumed.add(first.index)
  if (first.value === AGENT_ENTRY.name) {
    // `sts agent ...` itself never comes here (see the end of this file): only its help, or the agent
    // named after a global option, which the agent does not take.
    if (wantsHelp()) return help(io, (await import('./agent.js')).AGENT_HELP)
    throw new UsageError(["'agent' takes no global options: sts agent --config <agent.yaml>"])
  }
  // A command of two words beside one of one (`ledger verify` beside `ledger`) is matched on both first.
  const twoWords = second === undefined ? undefined : ENTRIES.find((candidate) => candidate.name === `${first.value} ${second.value}`)
  if (twoWords !== undefined && second !== undefined) consumed.add(second.index)
  const entry = twoWords ?? ENTRIES.find((candidate) => candidate.name === first.value)
  if (entry === undefined) throw new UsageError([`unknown command '${printable(first.value)}'; see 'sts --help'`])
  let command: Command
  if ('commands' in entry) {
    if (second === undefined) {
      if (wantsHelp()) return help(io, groupHelp(entry))
      io.stderr(groupHelp(entry))
      throw new UsageError([`missing ${entry.name} command`])
    }
    consumed.add(second.index)
    const found = entry.commands.find((candidate) => candidate.name === `${entry.name} ${second.value}`)
    if (found === undefined)
      throw new UsageError([`unknown command '${entry.name} ${printable(second.value)}'; see 'sts ${entry.name} --help'`])
    command = found
  } else {
    command = entry
  }
  if (wantsHelp()) return help(io, commandHelp(command))

  let action: Action
  let args: ParsedArgs
  try {
    args = parseCommandLine(rest(), command.options)
    const { positionals } = args
    for (const name of command.positionals.slice(positionals.length)) args.problems.push(`missing <${name}>`)
    for (const extra of positionals.slice(command.positionals.length)) args.problems.push(`unexpected argument '${printable(extra)}'`)
    action = command.parse(args)
    if (args.problems.length > 0) throw new UsageError(args.problems)
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.problems, command.usage)
    throw error
  }
  // Only now, with the command line known to be right, is the configuration read.
  const config = loadCliConfig(env, { url: args.string('url'), timeout: args.string('timeout') })
  const client = new AdminClient({ ...config, ...(io.fetch ? { fetch: io.fetch } : {}) })
  // Actions end with `return out.stdout(...)` as often as with an exit code: only a number is one.
  const code = await action({ client, json: args.flag('json'), out: io })
  return typeof code === 'number' ? code : ExitCode.ok
}

/** The positional words naming the command (`grants`, `list`), with their places in argv. */
function commandWords(argv: readonly string[]): { value: string; index: number }[] {
  // Not strict: the command's own options are not known yet. Global options are, so `--url X grants` works.
  const { tokens } = parseArgs({ args: [...argv], options: GLOBAL_OPTIONS, strict: false, allowPositionals: true, tokens: true })
  return tokens
    .filter((token) => token.kind === 'positional')
    .slice(0, 3)
    .map((token) => ({ value: token.value, index: token.index }))
}

function report(error: unknown, io: CliIo): ExitCode {
  if (error instanceof UsageError) {
    io.stderr(error.problems.map((problem) => `sts: ${problem}\n`).join(''))
    if (error.usage) io.stderr(`usage: sts ${error.usage}\n`)
    return error.exitCode
  }
  if (error instanceof ApiError) {
    const { problem, requestId } = error
    io.stderr(`sts: ${printable(problem.detail)}\n`)
    for (const { path, message } of problem.errors ?? []) io.stderr(`  ${printable(path)}: ${printable(message)}\n`)
    if (problem.status >= 500 && requestId) io.stderr(`sts: request id ${printable(requestId)} (quote it when reporting this)\n`)
    return error.exitCode
  }
  if (error instanceof UnreachableError) {
    io.stderr(`sts: ${printable(error.message)}\n`)
    return error.exitCode
  }
  io.stderr(`sts: unexpected error: ${printable(error instanceof Error ? error.message : String(error))}\n`)
  return ExitCode.failed
}

function help(io: CliIo, text: string): ExitCode {
  io.stdout(text)
  return ExitCode.ok
}

/** Listed with the admin commands, though it is none: dispatched before them (see the end of this file). */
const AGENT_ENTRY = { name: 'agent', summary: 'keep workload tokens fresh in files (sts agent --config agent.yaml)' }

const GLOBAL_HELP = `global options:
  --url URL          the service's base URL (default: $STS_URL, else http://localhost:8080)
  --timeout SECONDS  give up on a request after this long (default: 10)
  --json             print the API's JSON instead of a table
  -h, --help         show help`

const EXIT_LINE = "Exit codes: 0 success, 1 refused by the API, 2 usage error, 3 service unreachable (see 'sts --help')."

function commandList(commands: readonly Pick<Command, 'name' | 'summary'>[]): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  return commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')
}

function allCommands(): Command[] {
  return ENTRIES.flatMap((entry) => ('commands' in entry ? entry.commands : [entry]))
}

export function topHelp(): string {
  return `sts: the command line of the Seed STS admin API

usage: sts <command> [options]

commands:
${commandList([...allCommands(), AGENT_ENTRY])}

Run 'sts <command> --help' for a command's options. Output is an aligned table, or JSON with --json.

${GLOBAL_HELP}

environment:
  STS_URL            the service's base URL (default http://localhost:8080)
  STS_ADMIN_TOKEN    the admin API token; required, never printed

exit codes:
  0  success
  1  the API refused the request or failed (4xx, 5xx); its detail is printed on stderr
  2  usage error: unknown command, bad or missing options, STS_ADMIN_TOKEN not set
  3  the service could not be reached (connection refused, DNS, timeout)
  4  sts ledger verify: the ledger was changed outside the service
`
}

function groupHelp(group: CommandGroup): string {
  return `usage: sts ${group.name} <command> [options]

${group.name}: ${group.summary}

commands:
${commandList(group.commands)}

Run 'sts ${group.name} <command> --help' for its options.
${EXIT_LINE}
`
}

function commandHelp(command: Command): string {
  return `usage: sts ${command.usage}

${command.help}

${GLOBAL_HELP}
${EXIT_LINE}
`
}

/** True when this file is the program being run (`sts`, `node dist/src/cli/main.js`), not an import. */
function isMain(): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isMain()) {
  // `sts ... | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
  const argv = process.argv.slice(2)
  const io = { stdout: (text: string) => void process.stdout.write(text), stderr: (text: string) => void process.stderr.write(text) }
  if (argv[0] === 'agent') {
    // The agent is a daemon, not an admin command: it needs no admin token, and runs until a signal.
    // Loaded only here, so the admin commands do not load the client, prom-client and pino.
    const { runAgent } = await import('./agent.js')
    process.exitCode = await runAgent(argv.slice(1), process.env, io)
  } else {
    process.exitCode = await run(argv, process.env, io)
  }
}
