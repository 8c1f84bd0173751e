import { createHash, randomUUID } from 'node:crypto'
import t from 'tap'
import { InvalidInputError, ServiceUnavailableError } from '../../src/errors.js'
import type { LedgerEntry, LedgerFilter } from '../../src/ledger/ledger-store.js'
import { sqlLedgerStore } from '../support/ledger.js'
import { BACKENDS } from '../support/databases.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'
import { FIRST_WINDOW_MS } from '../../src/ledger/issue-time-windows.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const MINUTE = 60_000
const NOW = new Date(T0)
const PAYMENTS = 'spiffe://example.org/k8s/prod/ns/payments/sa'
const GRANTS = {
  payments: '6f0d3a52-1b7e-4c1a-9d2e-000000000001',
  metrics: '6f0d3a52-1b7e-4c1a-9d2e-000000000002',
  search: '6f0d3a52-1b7e-4c1a-9d2e-000000000003',
  staging: '6f0d3a52-1b7e-4c1a-9d2e-000000000004',
}
const NODE_A = 'k8s:prod:node:node-a'
const NODE_B = 'k8s:prod:node:node-b'

/** Issued and expiry times in minutes from T0; answers are read as the names, each the key of a jti. */
const FIXTURE = {
  old: {
    subject: `${PAYMENTS}/api`,
    grantIds: [GRANTS.payments],
    sources: ['k8s:prod', NODE_A],
    audience: 'ledger-api',
    issued: -60,
    expires: -55,
  },
  metrics: {
    subject: `${PAYMENTS}/api`,
    grantIds: [GRANTS.payments, GRANTS.metrics],
    sources: ['k8s:prod', NODE_B],
    audience: 'metrics',
    issued: -30,
    expires: 0,
  },
  worker: {
    subject: `${PAYMENTS}/worker`,
    grantIds: [GRANTS.payments],
    sources: ['k8s:prod', NODE_B],
    audience: 'ledger-api',
    issued: -10,
    expires: 5,
  },
  indexer: {
    subject: 'spiffe://example.org/k8s/prod/ns/search/sa/indexer',
    grantIds: [GRANTS.search],
    sources: ['k8s:prod', NODE_A],
    audience: 'search-api',
    issued: -5,
    expires: 10,
  },
  canary: {
    subject: `${PAYMENTS}/api/canary`,
    grantIds: [GRANTS.payments],
    sources: ['k8s:prod', NODE_A],
    audience: 'ledger-api',
    issued: -2,
    expires: 3,
  },
  staging: {
    subject: 'spiffe://example.org/k8s/staging/ns/payments/sa/api',
    grantIds: [GRANTS.staging],
    sources: ['k8s:staging', 'k8s:staging:node:node-a'],
    audience: 'ledger-api',
    issued: -1,
    expires: 4,
  },
}
type Name = keyof typeof FIXTURE
const NEWEST_FIRST: Name[] = ['staging', 'canary', 'indexer', 'worker', 'metrics', 'old']
/** Each name's jti: a v7 UUID of its issue time, as the exchange makes them. */
const JTI = Object.fromEntries(
  Object.entries(FIXTURE).map(([name, { issued }]) => [
    name,
    uuidV7(T0 + issued * MINUTE, createHash('sha256').update(name).digest().subarray(0, 10)),
  ]),
) as Record<Name, string>
const nameOf = (jti: string) => Object.entries(JTI).find(([, id]) => id === jti)?.[0] ?? jti

function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    jti: randomUUID(),
    subject: `${PAYMENTS}/api`,
    attestor: 'prod',
    attestorKind: 'kubernetes',
    attestationFingerprint: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
    sources: ['k8s:prod', NODE_A],
    audience: 'ledger-api',
    scopes: ['ledger:read'],
    grantIds: [GRANTS.payments],
    issuedAt: NOW,
    expiresAt: new Date(T0 + 5 * MINUTE),
    clientAddress: '10.0.0.7',
    requestId: 'req-1',
    ...overrides,
  }
}

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`ledger search on ${backend}`, async (t) => {
    const db = await open(t)
    const ledger = sqlLedgerStore(db)
    const recorded = Object.entries(FIXTURE).map(([name, { issued, expires, ...rest }]) =>
      entry({ ...rest, jti: JTI[name as Name], issuedAt: new Date(T0 + issued * MINUTE), expiresAt: new Date(T0 + expires * MINUTE) }),
    )
    await ledger.recordMany(recorded)
    const names = async (filter: Omit<LedgerFilter, 'limit'>, now = NOW) =>
      (await ledger.search({ limit: 100, ...filter }, now)).items.map((e) => nameOf(e.jti))

    await t.test('no filter: everything, newest first, each entry whole', async (t) => {
      const page = await ledger.search({ limit: 100 }, NOW)
      t.same(page, { items: NEWEST_FIRST.map((name) => recorded.find((e) => e.jti === JTI[name])) })
    })

    await t.test('subject: an exact SPIFFE ID or a glob, never a prefix or suffix match', async (t) => {
      t.same(await names({ subject: `${PAYMENTS}/api` }), ['metrics', 'old'], 'exact: not api/canary')
      t.same(await names({ subject: `${PAYMENTS}/*` }), ['worker', 'metrics', 'old'], '* stays within one segment')
      t.same(await names({ subject: `${PAYMENTS}/**` }), ['canary', 'worker', 'metrics', 'old'], '** crosses segments')
      t.same(await names({ subject: 'spiffe://example.org/k8s/*/ns/payments/sa/api' }), ['staging', 'metrics', 'old'])
      t.same(await names({ subject: `${PAYMENTS}/ap?` }), ['metrics', 'old'])
      t.same(await names({ subject: `${PAYMENTS}/ap` }), [], 'no prefix match')
      t.same(await names({ subject: `${PAYMENTS}/api/canar` }), [], 'no prefix match deeper down')
      t.same(await names({ subject: 'k8s/prod/ns/payments/sa/*' }), [], 'no suffix match')
      t.same(await names({ subject: 'spiffe://example.org/k8s/prod/ns/payments' }), [], 'a parent is not its children')
    })

    await t.test('grant: entries that grant allowed, alone or with others', async (t) => {
      t.same(await names({ grant: GRANTS.payments }), ['canary', 'worker', 'metrics', 'old'])
      t.same(await names({ grant: GRANTS.metrics }), ['metrics'])
      t.same(await names({ grant: randomUUID() }), [])
      t.same(await names({ grant: 'not-a-grant-id' }), [], 'not a UUID: nothing, not a database error')
    })

    await t.test('source: entries whose attestation came from it, matched whole', async (t) => {
      t.same(await names({ source: NODE_A }), ['canary', 'indexer', 'old'])
      t.same(await names({ source: 'k8s:prod' }), ['canary', 'indexer', 'worker', 'metrics', 'old'])
      t.same(await names({ source: 'k8s:prod:node' }), [], 'not a prefix of a source')
    })

    await t.test('audience: exact', async (t) => {
      t.same(await names({ audience: 'ledger-api' }), ['staging', 'canary', 'worker', 'old'])
      t.same(await names({ audience: 'ledger' }), [])
    })

    await t.test('since is inclusive, until exclusive, both on issuedAt', async (t) => {
      const at = (minutes: number) => new Date(T0 + minutes * MINUTE)
      t.same(await names({ since: at(-10) }), ['staging', 'canary', 'indexer', 'worker'])
      t.same(await names({ until: at(-10) }), ['metrics', 'old'])
      t.same(await names({ since: at(-30), until: at(-5) }), ['worker', 'metrics'])
      t.same(await names({ since: at(-10), until: at(-10) }), [])
    })

    await t.test('live: unexpired at the given now; a token expiring exactly now is not live', async (t) => {
      t.same(await names({ live: true }), ['staging', 'canary', 'indexer', 'worker'])
      t.same(await names({ live: false }), ['metrics', 'old'])
      const later = new Date(T0 + 3.5 * MINUTE)
      t.same(await names({ live: true }, later), ['staging', 'indexer', 'worker'], 'canary expired at +3 min')
      t.same(await names({ live: false }, later), ['canary', 'metrics', 'old'])
    })

    await t.test('filters together: every one holds', async (t) => {
      t.same(await names({ subject: `${PAYMENTS}/**`, grant: GRANTS.payments, source: NODE_A, live: true }), ['canary'])
      t.same(await names({ audience: 'ledger-api', source: NODE_B }), ['worker'])
      t.same(await names({ subject: `${PAYMENTS}/api`, live: true }), [], 'both api tokens have expired')
      t.same(await names({ grant: GRANTS.payments, since: new Date(T0 - 30 * MINUTE), until: new Date(T0 - 2 * MINUTE) }), [
        'worker',
        'metrics',
      ])
      t.same(await names({ subject: '**', audience: 'metrics', grant: GRANTS.metrics, source: NODE_B, live: false }), ['metrics'])
    })

    await t.test('a cursor not handed out is refused as a validation problem', async (t) => {
      const bad = [
        'bogus',
        cursorOf({ issuedAt: '2026-11-23T12:00:00.000Z', jti: 'x' }),
        cursorOf(['2026-13-01T00:00:00.000Z', 'x']),
        cursorOf(['2026-11-23T12:00:00Z', 'x']),
        cursorOf(['2026-11-23T12:00:00.000Z', '']),
        cursorOf(['2026-11-23T12:00:00.000Z', 7]),
      ]
      for (const cursor of bad) {
        await t.rejects(
          ledger.search({ limit: 10, cursor }, NOW),
          new InvalidInputError('the cursor is not one this API handed out', [{ path: 'cursor', message: 'invalid cursor' }]),
          cursor,
        )
      }
    })

    await t.test('a limit outside 1 to 1000 is a programming mistake', async (t) => {
      for (const limit of [0, 1001, 1.5]) await t.rejects(ledger.search({ limit }, NOW), TypeError, `limit ${limit}`)
    })

    await t.test('a ledger that cannot be read fails closed', async (t) => {
      await db.query('ALTER TABLE ledger_entries RENAME TO ledger_away')
      t.teardown(() => db.query('ALTER TABLE ledger_away RENAME TO ledger_entries'))
      await t.rejects(
        ledger.search({ limit: 10 }, NOW),
        new ServiceUnavailableError('the token ledger cannot be read', 'ledger_unavailable'),
      )
    })
  })

  t.test(`ledger search on ${backend}: matches found however far apart, across partitions, in order`, async (t) => {
    const ledger = sqlLedgerStore(await open(t))
    const target = `${PAYMENTS}/spread`
    // Seconds to months apart (one issued by a clock two minutes ahead, one on the first window's
    // lower edge), each among other subjects' tokens of the same moment, so the search's windows of
    // issue times have to reach every one.
    const offsets = [
      2 * MINUTE,
      0,
      -30_000,
      -FIRST_WINDOW_MS,
      -5 * MINUTE,
      -3 * 60 * MINUTE,
      -2 * 1440 * MINUTE,
      -40 * 1440 * MINUTE,
      -200 * 1440 * MINUTE,
    ]
    const matching = offsets.map((offset, i) =>
      entry({ subject: target, audience: 'spread-api', sources: ['k8s:prod', `k8s:prod:pod:${i}`], issuedAt: new Date(T0 + offset) }),
    )
    const others = offsets.flatMap((offset) =>
      [1, 2, 3].map((k) => entry({ subject: `${PAYMENTS}/other-${k}`, issuedAt: new Date(T0 + offset - k * 1000) })),
    )
    await ledger.recordMany([...matching, ...others])
    const expected = matching.map((e) => e.jti)

    const walk = async (filter: Omit<LedgerFilter, 'limit' | 'cursor'>, limit: number) => {
      const jtis: string[] = []
      let cursor: string | undefined
      do {
        const page = await ledger.search({ ...filter, limit, cursor }, NOW)
        jtis.push(...page.items.map((e) => e.jti))
        cursor = page.nextCursor
      } while (cursor !== undefined && jtis.length < 100)
      return jtis
    }
    for (const filter of [{ subject: target }, { subject: `${PAYMENTS}/spr*` }, { audience: 'spread-api' }, { source: 'k8s:prod:pod:8' }]) {
      const wanted = 'source' in filter ? [matching[8]!.jti] : expected
      for (const limit of [1, 3, 100]) t.same(await walk(filter, limit), wanted, `${JSON.stringify(filter)}, pages of ${limit}`)
    }
    t.same(
      await walk({ subject: target, since: new Date(T0 - 41 * 1440 * MINUTE) }, 2),
      expected.slice(0, 8),
      'since: nothing older, however the windows fall',
    )
    t.same(await walk({ subject: target, until: new Date(T0 - MINUTE) }, 2), expected.slice(4), 'until: the windows start from it')
  })

  t.test(`ledger pages on ${backend}: no gaps, no repeats, ties on issuedAt included`, async (t) => {
    const ledger = sqlLedgerStore(await open(t))
    // Twelve tokens issued in the same millisecond, the rest a second apart: the jti breaks the tie.
    const entries = Array.from({ length: 30 }, (_, i) =>
      entry({ issuedAt: new Date(i < 12 ? T0 : T0 - (i - 11) * 1000), sources: ['k8s:prod', i % 3 !== 0 ? NODE_A : NODE_B] }),
    )
    await ledger.recordMany(entries)
    const everything = (await ledger.search({ limit: 1000 }, NOW)).items.map((e) => e.jti)
    t.same([...everything].sort(), entries.map((e) => e.jti).sort(), 'one page holds them all')

    const walk = async (filter: Omit<LedgerFilter, 'limit' | 'cursor'>, limit: number, between?: () => Promise<void>) => {
      const pages: string[][] = []
      let cursor: string | undefined
      do {
        const page = await ledger.search({ ...filter, limit, cursor }, NOW)
        pages.push(page.items.map((e) => e.jti))
        cursor = page.nextCursor
        if (pages.length === 1) await between?.()
      } while (cursor !== undefined && pages.length < 100)
      return pages
    }

    for (const limit of [1, 4, 5, 7, 30]) {
      const pages = await walk({}, limit)
      t.same(pages.flat(), everything, `limit ${limit}: the pages, in order, are the whole answer`)
      t.equal(pages.length, Math.ceil(30 / limit), `limit ${limit}: no empty page at the end`)
      t.ok(
        pages.every((page) => page.length === limit || page === pages[pages.length - 1]),
        `limit ${limit}: full pages`,
      )
    }

    const fromNodeB = (await ledger.search({ source: NODE_B, limit: 1000 }, NOW)).items.map((e) => e.jti)
    t.equal(fromNodeB.length, 10)
    t.same((await walk({ source: NODE_B }, 3)).flat(), fromNodeB, 'a filtered answer pages the same way')

    const newer = entry({ issuedAt: new Date(T0 + 1000) })
    const pages = await walk({}, 4, () => ledger.record(newer))
    t.same(pages.flat(), everything, 'a token issued between pages neither repeats nor shifts what follows')
    t.equal((await ledger.search({ limit: 1 }, NOW)).items[0]?.jti, newer.jti, 'it heads the next first page')
  })
}
