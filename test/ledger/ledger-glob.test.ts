import t from 'tap'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { ledgerEntry, sqlLedgerStore } from '../support/ledger.js'
import { globMatches } from '../../src/lib/glob.js'
import { BACKENDS } from '../support/databases.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'

/**
 * A subject glob is matched in SQL with the anchored regex src/lib/glob.ts builds. Postgres regexes
 * are not JavaScript's, so this table holds the JavaScript matcher, real Postgres and PGlite to the
 * same answers, literal characters that are special to one regex dialect or the other included.
 */

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const BASE = 'spiffe://example.org/k8s/prod/ns/payments/sa'

const SUBJECTS = {
  api: `${BASE}/api`,
  api2: `${BASE}/api2`,
  apiExtra: `${BASE}/api/extra`,
  empty: `${BASE}/`,
  upper: `${BASE}/API`,
  accented: `${BASE}/é`,
  newline: `${BASE}/api\nx`,
  plus: `${BASE}/a+b`,
  aab: `${BASE}/aab`,
  alternation: `${BASE}/(a|b)`,
  a: `${BASE}/a`,
  bracket: `${BASE}/[x]`,
  x: `${BASE}/x`,
  brace: `${BASE}/a{2}`,
  aa: `${BASE}/aa`,
  backslash: `${BASE}/\\d`,
  digit: `${BASE}/5`,
  anchors: `${BASE}/$x^`,
  staging: 'spiffe://example.org/k8s/staging/ns/payments/sa/api',
  otherDomain: 'spiffe://exampleXorg/k8s/prod/ns/payments/sa/api',
  prefixed: `x${BASE}/api`,
}
type Name = keyof typeof SUBJECTS
const ALL = Object.keys(SUBJECTS) as Name[]
const ONE_SEGMENT_UNDER_BASE: Name[] = ALL.filter((name) => !['apiExtra', 'staging', 'otherDomain', 'prefixed'].includes(name))

/** Each glob, and exactly the subjects it matches. */
const CASES: [string, Name[]][] = [
  [`${BASE}/*`, ONE_SEGMENT_UNDER_BASE],
  [`${BASE}/api`, ['api']],
  [`${BASE}/ap?`, ['api']],
  [`${BASE}/api*`, ['api', 'api2', 'newline']],
  [`${BASE}/?`, ['accented', 'a', 'x', 'digit']],
  [`${BASE}/*/extra`, ['apiExtra']],
  [`${BASE}/**`, [...ONE_SEGMENT_UNDER_BASE, 'apiExtra']],
  ['spiffe://example.org/**/sa/api', ['api', 'staging']],
  ['spiffe://example.org/k8s/*/ns/payments/sa/api', ['api', 'staging']],
  ['spiffe://example?org/k8s/prod/ns/payments/sa/api', ['api', 'otherDomain']],
  [`${BASE}/a+b`, ['plus']],
  [`${BASE}/(a|b)`, ['alternation']],
  [`${BASE}/[x]`, ['bracket']],
  [`${BASE}/a{2}`, ['brace']],
  [`${BASE}/\\d`, ['backslash']],
  [`${BASE}/$x^`, ['anchors']],
  ['**/api', ['api', 'staging', 'otherDomain', 'prefixed']],
  ['**', ALL],
  ['*', []],
  [`${BASE}/ap`, []],
  [`k8s/prod/ns/payments/sa/*`, []],
]

t.test('the JavaScript matcher gives the answers of the table', async (t) => {
  for (const [glob, expected] of CASES) {
    t.same(ALL.filter((name) => globMatches(glob, SUBJECTS[name])).sort(), [...expected].sort(), glob)
  }
})

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`${backend} matches subject globs as the JavaScript matcher does`, async (t) => {
    const ledger = sqlLedgerStore(await open(t))
    await ledger.recordMany(ALL.map((name, i) => entry(name, SUBJECTS[name], i)))
    for (const [glob, expected] of CASES) {
      const page = await ledger.search({ subject: glob, limit: 100 }, new Date(T0))
      t.same(page.items.map((e) => nameOf(e.jti)).sort(), [...expected].sort(), glob)
    }
  })
}

/** Each name's jti, a v7 UUID of its issue time; answers are read as names. */
const JTI = Object.fromEntries(ALL.map((name, i) => [name, uuidV7(T0 - i * 1000)])) as Record<Name, string>
const nameOf = (jti: string) => ALL.find((name) => JTI[name] === jti) ?? jti

function entry(jti: Name, subject: string, i: number): LedgerEntry {
  return ledgerEntry(T0 - i * 1000, { jti: JTI[jti], subject, expiresAt: new Date(T0 + 300_000) })
}
