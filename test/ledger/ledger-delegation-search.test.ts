import t from 'tap'
import { ledgerEntryToJson, ledgerFilterOf, LedgerSearchQuery } from '../../src/ledger/ledger-search.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { BACKENDS } from '../support/databases.js'
import { ledgerEntry, sqlLedgerStore } from '../support/ledger.js'

/**
 * Delegated and narrowed tokens on the ledger (issue 14): the `actor` filter finds what a workload or
 * agent obtained on anyone's behalf, at any depth of the chain, and an entry shows its parent,
 * ancestors and actors on the wire.
 */

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const MINUTE = 60_000
const NOW = new Date(T0)
const AGENT = 'spiffe://example.org/agents/summarizer'
const GATEWAY = 'spiffe://example.org/k8s/prod/ns/tools/sa/gateway'
const PARENT = '0190a1b2-0000-7000-8000-0000000000aa'
const GRANDPARENT = '0190a1b2-0000-7000-8000-0000000000bb'

const FIXTURE = {
  /** The agent acting for the subject itself. */
  direct: ledgerEntry(T0 - 10 * MINUTE, { actors: [AGENT], parentJti: PARENT, ancestorJtis: [PARENT] }),
  /** The gateway acting for the agent, which acts for the subject: the agent is second in the chain. */
  chained: ledgerEntry(T0 - 5 * MINUTE, { actors: [GATEWAY, AGENT], parentJti: PARENT, ancestorJtis: [PARENT, GRANDPARENT] }),
  /** Another actor altogether. */
  other: ledgerEntry(T0 - 3 * MINUTE, { actors: [GATEWAY] }),
  /** A token issued to its subject itself: no actor. */
  ordinary: ledgerEntry(T0 - 2 * MINUTE),
  /** The agent, acting long ago: found, unless `since` leaves it out. */
  early: ledgerEntry(T0 - 120 * MINUTE, { actors: [AGENT] }),
}
type Name = keyof typeof FIXTURE
const nameOf = (entry: LedgerEntry) => Object.entries(FIXTURE).find(([, e]) => e.jti === entry.jti)?.[0]

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`the ledger's actor filter on ${backend}`, async (t) => {
    const ledger = sqlLedgerStore(await open(t))
    await ledger.recordMany(Object.values(FIXTURE))
    const found = async (filter: { actor?: string; since?: Date; live?: boolean; subject?: string }, now = NOW) =>
      (await ledger.search({ limit: 100, ...filter }, now)).items

    await t.test('entries whose chain holds the actor, first or further down, newest first, each whole', async (t) => {
      t.strictSame(await found({ actor: AGENT }), [FIXTURE.chained, FIXTURE.direct, FIXTURE.early])
      t.same((await found({ actor: GATEWAY })).map(nameOf), ['other', 'chained'])
    })

    await t.test('an exact SPIFFE ID: never a prefix, and a glob is taken literally', async (t) => {
      t.same(await found({ actor: 'spiffe://example.org/agents' }), [])
      t.same(await found({ actor: 'spiffe://example.org/agents/*' }), [])
    })

    await t.test('with since, live or another filter: all of them hold', async (t) => {
      t.same((await found({ actor: AGENT, since: new Date(T0 - 60 * MINUTE) })).map(nameOf), ['chained', 'direct'] satisfies Name[])
      // A minute before T0 only the chained token (five minutes of life from T0 - 5 min) is still live.
      t.same((await found({ actor: AGENT, live: true }, new Date(T0 - MINUTE))).map(nameOf), ['chained'] satisfies Name[])
      t.same((await found({ actor: AGENT, subject: 'spiffe://example.org/k8s/prod/ns/other/sa/api' })).map(nameOf), [])
    })

    await t.test('pages through the matches without gaps', async (t) => {
      const first = await ledger.search({ limit: 2, actor: AGENT }, NOW)
      t.same(first.items.map(nameOf), ['chained', 'direct'])
      t.ok(first.nextCursor)
      const second = await ledger.search({ limit: 2, actor: AGENT, cursor: first.nextCursor }, NOW)
      t.same(second, { items: [FIXTURE.early] })
    })
  })
}

t.test('the actor query parameter: one exact SPIFFE ID, handed to the store', async (t) => {
  const parsed = LedgerSearchQuery.parse({ actor: AGENT, since: '2026-11-23T11:00:00Z' })
  t.same(ledgerFilterOf(parsed), {
    subject: undefined,
    grant: undefined,
    source: undefined,
    audience: undefined,
    since: new Date('2026-11-23T11:00:00Z'),
    until: undefined,
    live: undefined,
    actor: AGENT,
    cursor: undefined,
    limit: 100,
  })
  const refused = LedgerSearchQuery.safeParse({ actor: 'summarizer' })
  t.same(
    refused.error?.issues.map((issue) => [issue.path, issue.message]),
    [[['actor'], 'must be a SPIFFE ID, e.g. spiffe://example.org/agents/summarizer']],
  )
})

t.test('on the wire: parent, ancestors and actors when the token has them, nothing when it has not', async (t) => {
  t.strictSame(ledgerEntryToJson(FIXTURE.chained, NOW), {
    jti: FIXTURE.chained.jti,
    subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
    attestor: 'prod',
    attestorKind: 'kubernetes',
    attestationFingerprint: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
    sources: ['k8s:prod'],
    audience: 'ledger-api',
    scopes: [],
    grantIds: [],
    issuedAt: '2026-11-23T11:55:00.000Z',
    expiresAt: '2026-11-23T12:00:00.000Z',
    clientAddress: null,
    requestId: null,
    parentJti: PARENT,
    ancestorJtis: [PARENT, GRANDPARENT],
    actors: [GATEWAY, AGENT],
    live: false,
  })
  const ordinary = ledgerEntryToJson(FIXTURE.ordinary, NOW)
  t.strictSame(Object.keys(ordinary), [
    'jti',
    'subject',
    'attestor',
    'attestorKind',
    'attestationFingerprint',
    'sources',
    'audience',
    'scopes',
    'grantIds',
    'issuedAt',
    'expiresAt',
    'clientAddress',
    'requestId',
    'live',
  ])
})
