import t from 'tap'
import {
  FIRST_WINDOW_MS,
  nextWindowMs,
  OPEN_WINDOW_AFTER_MS,
  readInIssueTimeWindows,
  type IssueTimeWindow,
} from '../../src/ledger/issue-time-windows.js'

const MINUTE = 60_000
const DAY = 86_400_000
const ANCHOR = Date.UTC(2026, 10, 29, 12, 0, 0)

/** A seeded generator, so a failure names the case that shows it. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/** The ledger as the windows see it: rows (issue times) in a window, newest first, at most `limit`. */
function ledgerOf(issued: number[]) {
  const windows: IssueTimeWindow[] = []
  const read = (window: IssueTimeWindow, limit: number): Promise<number[]> => {
    windows.push(window)
    const inWindow = issued.filter(
      (at) => (window.from === undefined || at >= window.from.getTime()) && (window.before === undefined || at < window.before.getTime()),
    )
    return Promise.resolve(inWindow.sort((a, b) => b - a).slice(0, limit))
  }
  return { read, windows }
}

t.test('the rows read window by window are the newest `wanted` a single read would answer', async (t) => {
  const next = random(20261129)
  for (let round = 0; round < 2000; round++) {
    // Densities from a row a second to a row a month, over spans from a minute to two years, some
    // issued after the anchor (a clock ahead), some rounds with nothing at all.
    const span = [MINUTE, DAY, 30 * DAY, 730 * DAY][Math.floor(next() * 4)] ?? DAY
    const count = Math.floor(next() * [0, 3, 50, 400][Math.floor(next() * 4)]!)
    const issued = Array.from({ length: count }, () => Math.round(ANCHOR + 5 * MINUTE * next() - span * next()))
    const wanted = 1 + Math.floor(next() * 120)
    const floor = next() < 0.4 ? new Date(ANCHOR - span * next()) : undefined
    const { read, windows } = ledgerOf(issued)

    const answer = await readInIssueTimeWindows(read, { wanted, anchor: new Date(ANCHOR), floor })

    const oracle = issued
      .filter((at) => floor === undefined || at >= floor.getTime())
      .sort((a, b) => b - a)
      .slice(0, wanted)
    // Rows the floor excludes come back from the last window too (the search's own conditions drop
    // them in SQL); here only the order and the rows above the floor are the windows' doing.
    const kept = answer.filter((at) => floor === undefined || at >= floor.getTime())
    if (!t.same(kept, oracle, `round ${round}: ${count} rows over ${span / MINUTE} min, ${wanted} wanted`)) break
    const consecutive = windows.every((window, i) => i === 0 || window.before?.getTime() === windows[i - 1]?.from?.getTime())
    if (!t.ok(consecutive && windows[0]?.before === undefined, `round ${round}: windows follow each other, newest first, with no gap`))
      break
  }
})

t.test('a search over a sparse or empty ledger takes a handful of reads, not one per minute of history', async (t) => {
  const empty = ledgerOf([])
  t.same(await readInIssueTimeWindows(empty.read, { wanted: 101, anchor: new Date(ANCHOR) }), [])
  // 1 min, then 8 times longer each time (the sixth is 23 days), until the next, of 32 days or more,
  // reads the rest at once.
  t.equal(empty.windows.length, 7, 'seven reads for a ledger of any age')
  t.same(empty.windows.at(-1), { from: undefined, before: new Date(ANCHOR - FIRST_WINDOW_MS * (1 + 8 + 64 + 512 + 4096 + 32768)) })

  const ancient = ANCHOR - 400 * DAY
  const sparse = ledgerOf([ancient])
  t.same(await readInIssueTimeWindows(sparse.read, { wanted: 101, anchor: new Date(ANCHOR) }), [ancient], 'a row a year old is found')

  const floored = ledgerOf([])
  await readInIssueTimeWindows(floored.read, { wanted: 101, anchor: new Date(ANCHOR), floor: new Date(ANCHOR - 30 * MINUTE) })
  t.same(
    floored.windows.map((w) => [w.from?.getTime(), w.before?.getTime()]),
    [
      [ANCHOR - MINUTE, undefined],
      [ANCHOR - 9 * MINUTE, ANCHOR - MINUTE],
      [undefined, ANCHOR - 9 * MINUTE],
    ],
    'the window that reaches the floor is the last, and leaves the floor to the search',
  )
})

t.test('a full page ends the walk: no read past the window that filled it', async (t) => {
  const everyTenSeconds = Array.from({ length: 1000 }, (_, i) => ANCHOR - i * 10_000)
  const ledger = ledgerOf(everyTenSeconds)
  const answer = await readInIssueTimeWindows(ledger.read, { wanted: 20, anchor: new Date(ANCHOR) })
  t.same(answer, everyTenSeconds.slice(0, 20))
  // 7 rows in the first minute (both its ends included), so the next window is sized for the 13
  // missing: 2.3 minutes.
  t.equal(ledger.windows.length, 2)
  t.equal(ledger.windows[1]?.from?.getTime(), ANCHOR - MINUTE - Math.round((13 / 7) * 1.25 * MINUTE))
})

t.test('the next window: sized by the density seen, within bounds', async (t) => {
  t.equal(nextWindowMs(MINUTE, 0, 100), 8 * MINUTE, 'nothing found: eight times longer')
  t.equal(nextWindowMs(MINUTE, 10, 40), 5 * MINUTE, '10 found, 40 missing: four times as long, and a quarter more')
  t.equal(nextWindowMs(MINUTE, 50, 10), 2 * MINUTE, 'at least twice as long')
  t.equal(nextWindowMs(MINUTE, 1, 100), 16 * MINUTE, 'at most sixteen times as long')
  t.ok(OPEN_WINDOW_AFTER_MS >= 30 * DAY)
})
