/**
 * A page of a selective ledger search (a subject, grant, source or audience), newest first, read one
 * window of issue times at a time, from `anchor` back, until the page is full.
 *
 * Why: the rows one filter matches are spread over the whole ledger, each on its own heap page, and an
 * index on the filter's column hands them over in no time order. Asked for everything at once,
 * Postgres reads every matching row to sort them (12,000 page reads, half a second, for one namespace
 * over 8 hours at 10 million rows) to hand out 100. Bounded to a window, it intersects the filter's
 * index with the issue-time BRIN index and reads only the window's matches. Each window is sized from
 * how many matches the windows before it held, so the last one reads about as many as the page needs.
 */

/** Where a window of issue times lies: at or after `from` and before `before`, each unbounded when absent. */
export interface IssueTimeWindow {
  from?: Date
  before?: Date
}

export interface WindowedReadOptions {
  /** How many rows the page needs (its limit, plus the one that says there is more). */
  wanted: number
  /** The newest issue time to look from: the search's own upper bound, or now. */
  anchor: Date
  /** The oldest issue time the search allows (`since`, or what `live` allows); none reads to the start. */
  floor?: Date
}

/** The first window: a minute of issue times, enough for a busy subject's page. */
export const FIRST_WINDOW_MS = 60_000
/** A window after one that held nothing is this many times longer. */
const GROWTH_WHEN_EMPTY = 8
/** Bounds on how much longer a window is than the one before, however few or many that one held. */
const MIN_GROWTH = 2
const MAX_GROWTH = 16
/** Windows a little longer than the matches so far suggest, so the last one rarely falls short. */
const MARGIN = 1.25
/** Past this, one last read takes the rest of the ledger at once: nothing is left to save. */
export const OPEN_WINDOW_AFTER_MS = 32 * 86_400_000

/**
 * Reads rows newest first, window by window, with `read(window, limit)` (which answers at most `limit`
 * rows of its window, newest first), and answers at most `wanted` of them, newest first. The first
 * window has no upper bound of its own: the search's bounds apply, and rows issued after `anchor` by
 * a clock ahead of this one are found all the same.
 */
export async function readInIssueTimeWindows<Row>(
  read: (window: IssueTimeWindow, limit: number) => Promise<Row[]>,
  { wanted, anchor, floor }: WindowedReadOptions,
): Promise<Row[]> {
  const rows: Row[] = []
  let before: Date | undefined
  let windowMs = FIRST_WINDOW_MS
  for (;;) {
    const start = (before ?? anchor).getTime() - windowMs
    // The last window: it reaches the floor (or the start of the ledger), and nothing is older.
    const last = windowMs >= OPEN_WINDOW_AFTER_MS || (floor !== undefined && start <= floor.getTime())
    const window: IssueTimeWindow = { from: last ? undefined : new Date(start), before }
    const found = await read(window, wanted - rows.length)
    rows.push(...found)
    if (last || rows.length >= wanted) return rows
    before = new Date(start)
    windowMs = nextWindowMs(windowMs, found.length, wanted - rows.length)
  }
}

/** The next window's length: long enough, at the density the last one showed, for what is missing. */
export function nextWindowMs(windowMs: number, found: number, missing: number): number {
  if (found === 0) return windowMs * GROWTH_WHEN_EMPTY
  const growth = (missing / found) * MARGIN
  return Math.round(windowMs * Math.min(MAX_GROWTH, Math.max(MIN_GROWTH, growth)))
}
