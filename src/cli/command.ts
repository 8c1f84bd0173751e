import type { ExitCode } from './errors.js'
import type { OptionSpecs, ParsedArgs } from './args.js'
import type { AdminClient } from './client.js'
import { renderTable, type Column } from './table.js'
import { ApiError } from './errors.js'

/** Where a command writes. Results go to stdout; notes for the human (more pages, nothing found) to stderr. */
export interface Output {
  stdout(text: string): void
  stderr(text: string): void
}

export interface CommandContext {
  client: AdminClient
  /** `--json`: print the API's JSON instead of tables. */
  json: boolean
  out: Output
}

/**
 * What a command will do, decided from its arguments alone, before any configuration is read. Runs the
 * command; what it answers, if anything, is the exit code (else 0).
 */
export type Action = (context: CommandContext) => Promise<void | ExitCode>

export interface Command {
  /** As typed after `sts`, e.g. `grants list`. */
  name: string
  summary: string
  /** The usage line without `sts`, e.g. `grants show <id>`. */
  usage: string
  /** The rest of `--help`: what it does and its options. */
  help: string
  options: OptionSpecs
  /** Names of the positional arguments; each is required. */
  positionals: readonly string[]
  /** Validates the arguments, recording problems in `args.problems`, and returns the action. */
  parse(args: ParsedArgs): Action
}

export interface CommandGroup {
  name: string
  summary: string
  commands: readonly Command[]
}

/** Prints a value as the scripts reading `--json` get it: indented JSON and a newline. */
export function printJson(out: Output, value: unknown): void {
  out.stdout(JSON.stringify(value, null, 2) + '\n')
}

export interface Page<T> {
  items: T[]
  nextCursor?: string
  /** The API's answer, kept whole for `--json` when there is one page (fields the CLI does not know included). */
  answer?: unknown
}

/** One page, or with `all` every page from `cursor` on, following `nextCursor`. */
export async function collect<T>(
  all: boolean,
  cursor: string | undefined,
  fetchPage: (cursor?: string) => Promise<Page<T>>,
): Promise<Page<T>> {
  const first = await fetchPage(cursor)
  if (!all) return first
  const items = [...first.items]
  const seen = new Set<string>()
  let next = first.nextCursor
  while (next !== undefined) {
    // A service that hands back a cursor it already gave would keep us here forever.
    if (seen.has(next)) throw new ApiError({ status: 200, detail: `the service returned cursor ${next} twice; stopped paging` })
    seen.add(next)
    const page = await fetchPage(next)
    items.push(...page.items)
    next = page.nextCursor
  }
  return { items }
}

/** Tells the human there is more than was printed, and how to get it. */
export function noteMore(out: Output, what: string, page: Page<unknown>): void {
  if (page.nextCursor !== undefined) out.stderr(`more ${what}: add --all, or --cursor ${page.nextCursor}\n`)
}

/** A list command's API call: one page of `key` (`grants`, `entries`...) from `cursor` on. */
export interface Listing<Row> {
  /** The field of the answer holding the rows, as `--json` prints it. */
  key: string
  /** What the rows are, for the notes on stderr: `no <noun>`, `more <noun>`. */
  noun: string
  columns: readonly Column<Row>[]
  fetchPage(client: AdminClient, cursor: string | undefined): Promise<{ rows: Row[]; nextCursor?: string; answer: unknown }>
}

/**
 * The action of every `... list` command: one page (from `--cursor`), or with `--all` every page, as a
 * table or as the API's JSON; a note on stderr when there is nothing, or more.
 */
export function listAction<Row>(args: ParsedArgs, listing: Listing<Row>): Action {
  const all = args.flag('all')
  const start = args.string('cursor')
  return async ({ client, json, out }) => {
    const page = await collect(all, start, async (cursor) => {
      const { rows, nextCursor, answer } = await listing.fetchPage(client, cursor)
      return { items: rows, ...(nextCursor === undefined ? {} : { nextCursor }), answer }
    })
    if (json) return printJson(out, page.answer ?? { [listing.key]: page.items })
    if (page.items.length === 0) out.stderr(`no ${listing.noun}\n`)
    else out.stdout(renderTable(listing.columns, page.items))
    noteMore(out, listing.noun, page)
  }
}
