import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'
import { SqlLiveTokenCounter } from '../../src/revocation/sql-live-token-counter.js'
import { BACKENDS } from '../support/databases.js'
import { ledgerEntry, previousReleaseParams, sqlLedgerStore } from '../support/ledger.js'

const MINUTE = 60_000
const MIDNIGHT = Date.UTC(2030, 6, 1)
const NOW = new Date(MIDNIGHT + 2 * MINUTE)
const MAX_TTL_SECONDS = 3600
const SUBJECT = 'spiffe://example.org/k8s/prod/ns/payments/sa/api'
const GRANT = '6f0d3a52-1b7e-4c1a-9d2e-000000000001'

function entry(issuedAt: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return ledgerEntry(issuedAt, {
    sources: ['k8s:prod', 'k8s:prod:node:node-a'],
    scopes: ['ledger:read'],
    grantIds: [GRANT],
    issuedAt: new Date(issuedAt),
    expiresAt: new Date(issuedAt + 5 * MINUTE),
    clientAddress: '10.0.0.7',
    requestId: 'req-1',
    ...overrides,
  })
}

/** What a replica of the previous release runs (src/ledger/sql-ledger-store.ts before migration 011). */
const PREVIOUS_COLUMNS =
  'jti, subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids, issued_at, expires_at, client_address, request_id'
const PLACEHOLDERS = Array.from({ length: 13 }, (_, i) => `$${i + 1}`).join(', ')

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`ledger lookups on ${backend}`, async (t) => {
    const db = await open(t)
    const ledger = sqlLedgerStore(db, MAX_TTL_SECONDS)
    const counter = new SqlLiveTokenCounter(db, MAX_TTL_SECONDS, 5000)
    const liveOf = async (target: { kind: 'token' | 'subject' | 'grant' | 'source'; value: string }) => counter.count(target, NOW)

    await t.test('a jti made a few minutes off its issued_at, across midnight, is found both ways round', async (t) => {
      // Issued just before midnight (yesterday's partition), its jti from a clock two minutes ahead: today's.
      const behind = { ...entry(MIDNIGHT - MINUTE), jti: uuidV7(MIDNIGHT + MINUTE) }
      // And the other way: issued just after midnight, its jti from a clock behind.
      const ahead = { ...entry(MIDNIGHT + MINUTE), jti: uuidV7(MIDNIGHT - MINUTE) }
      await ledger.recordMany([behind, ahead])
      for (const recorded of [behind, ahead]) {
        t.same(await ledger.get(recorded.jti), recorded)
        t.same(await counter.tokenExpiry(recorded.jti), recorded.expiresAt)
        t.equal(await liveOf({ kind: 'token', value: recorded.jti }), 1)
      }
    })

    await t.test('a v7 jti is looked for only near its own time: a row issued an hour from it is not read', async (t) => {
      const far = { ...entry(MIDNIGHT), jti: uuidV7(MIDNIGHT + 60 * MINUTE) }
      await ledger.record(far)
      t.equal(await ledger.get(far.jti), undefined)
      t.equal(await counter.tokenExpiry(far.jti), undefined)
    })

    await t.test('a v4 jti (a token of the previous release) is found in any partition and in the legacy table', async (t) => {
      const inPartition = entry(MIDNIGHT - 40 * 86_400_000, { jti: randomUUID() })
      await ledger.record(inPartition)
      t.same(await ledger.get(inPartition.jti), inPartition)
      const inLegacy = entry(MIDNIGHT - MINUTE, { jti: randomUUID(), subject: `${SUBJECT}/legacy` })
      await db.query(`INSERT INTO ledger_legacy (${PREVIOUS_COLUMNS}) VALUES (${PLACEHOLDERS})`, previousReleaseParams(inLegacy))
      t.same(await ledger.get(inLegacy.jti), inLegacy)
      t.same(await counter.tokenExpiry(inLegacy.jti), inLegacy.expiresAt)
      t.same((await ledger.search({ subject: `${SUBJECT}/legacy`, limit: 10 }, NOW)).items, [inLegacy], 'searches read it too')
      t.equal(await liveOf({ kind: 'subject', value: `${SUBJECT}/legacy` }), 1, 'and revocation counts')
    })

    await t.test('what no token can have is simply not found', async (t) => {
      const recorded = entry(MIDNIGHT)
      await ledger.record(recorded)
      for (const jti of [recorded.jti.toUpperCase(), 'not-a-jti', '', `${recorded.jti} `]) {
        t.equal(await ledger.get(jti), undefined, jti)
        t.equal(await counter.tokenExpiry(jti), undefined, jti)
      }
    })

    await t.test('live queries read only tokens issued within tokens.maxTtlSeconds', async (t) => {
      const subject = `${SUBJECT}/live`
      const live = entry(NOW.getTime() - 4 * MINUTE, { subject })
      // Unexpired by its expiresAt, but issued before now - maxTtl: no such token can exist, so the
      // bound, not the expiry, is what leaves it out.
      const outsideBound = entry(NOW.getTime() - (MAX_TTL_SECONDS + 60) * 1000, { subject, expiresAt: new Date(NOW.getTime() + MINUTE) })
      await ledger.recordMany([live, outsideBound])
      t.same((await ledger.search({ subject, live: true, limit: 10 }, NOW)).items, [live])
      t.same((await ledger.search({ subject, limit: 10 }, NOW)).items, [live, outsideBound], 'without live, both')
      t.equal(await liveOf({ kind: 'subject', value: subject }), 1)
    })

    await t.test('a replica of the previous release writes and reads through the `ledger` view', async (t) => {
      const previous = entry(NOW.getTime() - MINUTE, { jti: randomUUID(), subject: `${SUBJECT}/previous` })
      await db.query(`INSERT INTO ledger (${PREVIOUS_COLUMNS}) VALUES (${PLACEHOLDERS})`, previousReleaseParams(previous))
      t.same(await ledger.get(previous.jti), previous, 'this release reads what it wrote')
      const ours = entry(NOW.getTime() - MINUTE, { subject: `${SUBJECT}/previous` })
      await ledger.record(ours)
      const rows = await db.query<Record<string, unknown>>(`SELECT ${PREVIOUS_COLUMNS} FROM ledger WHERE jti = $1`, [ours.jti])
      t.same(
        rows.map((row) => ({ ...row, issued_at: new Date(row.issued_at as string), expires_at: new Date(row.expires_at as string) })),
        [
          {
            jti: ours.jti,
            subject: ours.subject,
            attestor: ours.attestor,
            attestor_kind: ours.attestorKind,
            attestation_fingerprint: ours.attestationFingerprint,
            sources: ours.sources,
            audience: ours.audience,
            scopes: ours.scopes,
            grant_ids: ours.grantIds,
            issued_at: ours.issuedAt,
            expires_at: ours.expiresAt,
            client_address: ours.clientAddress,
            request_id: ours.requestId,
          },
        ],
        'and it reads what this release wrote, in its own shape',
      )
      const [count] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger WHERE subject = $1 AND expires_at > $2', [
        `${SUBJECT}/previous`,
        NOW,
      ])
      t.equal(count?.n, 2, 'its revocation counts see both')
    })
  })
}
