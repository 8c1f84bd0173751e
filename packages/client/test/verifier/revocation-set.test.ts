import t from 'tap'
import { RevocationSet, revocationRecordOf, type RevocableToken } from '../../src/verifier/revocation-set.js'

const now = Date.UTC(2026, 10, 23, 12, 0, 0)
const HOUR = 3_600_000
const token: RevocableToken = {
  tokenId: '0196b2a0-0000-7000-8000-000000000001',
  keyId: 'kid-1',
  subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
  grants: ['0b8f3c2e-0000-4000-8000-00000000000a', '0b8f3c2e-0000-4000-8000-00000000000b'],
  sourceHashes: ['Yk2mNn3ZP9m5cN7dQ0lmvRzZ8Q2jK6bqX1oWmE4aT0c', '6ucTwvbb-8s9s5asj2hHeAiDoTf45IgWoJ8Q71pVnMA'],
  actors: ['spiffe://example.org/agents/planner', 'spiffe://example.org/k8s/prod/ns/tools/sa/router'],
  ancestorTokenIds: ['0196b2a0-0000-7000-8000-0000000000a1', '0196b2a0-0000-7000-8000-0000000000a2'],
}

/** A notice as a `revocations:subscribe` token is sent it. */
function notice(kind: string, target: string, extra: Record<string, unknown> = {}) {
  return {
    id: `7c0e3a52-2f4d-4b8e-9a1c-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`,
    kind,
    ...(kind === 'source' ? { sourceHash: target } : { value: target }),
    createdAt: new Date(now - 60_000).toISOString(),
    expiresAt: null,
    liftedAt: null,
    cursor: '42',
    ...extra,
  }
}

t.test('each kind of revocation covers the tokens it names, and no other', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['token', token.tokenId, '0196b2a0-0000-7000-8000-000000000002'],
    ['token', token.ancestorTokenIds[1]!, '0196b2a0-0000-7000-8000-0000000000a3'],
    ['key', 'kid-1', 'kid-2'],
    ['subject', token.subject, 'spiffe://example.org/k8s/prod/ns/payments/sa/apix'],
    ['subject', 'spiffe://example.org/k8s/prod/ns/payments/**', 'spiffe://example.org/k8s/prod/ns/pay*/sa/x'],
    ['subject', 'spiffe://example.org/k8s/*/ns/payments/sa/*', 'spiffe://example.org/k8s/*/ns/payments'],
    ['subject', token.actors[0]!, 'spiffe://example.org/agents/planner2'],
    ['subject', token.actors[1]!, 'spiffe://example.org/k8s/prod/ns/tools/sa/router/x'],
    ['subject', 'spiffe://example.org/agents/*', 'spiffe://example.org/agent/*'],
    ['subject', 'spiffe://example.org/k8s/prod/ns/tools/**', 'spiffe://example.org/k8s/prod/ns/tool/**'],
    ['grant', token.grants[1]!, '0b8f3c2e-0000-4000-8000-00000000000c'],
    ['source', token.sourceHashes[1]!, 'QUEjHCagJxnSijer4kGRNa9jBNLX-AeYGiNIansO-gw'],
  ]
  for (const [kind, covering, other] of cases) {
    const set = new RevocationSet(24 * HOUR)
    set.apply(revocationRecordOf(notice(kind, other))!, now)
    t.equal(set.find(token, now), undefined, `${kind} ${other} does not cover it`)
    const record = revocationRecordOf(notice(kind, covering))!
    set.apply(record, now)
    t.equal(set.find(token, now), kind, `${kind} ${covering} covers it`)
    set.apply({ ...record, lifted: true }, now)
    t.equal(set.find(token, now), undefined, `${kind} ${covering}: lifted, it no longer does`)
    t.equal(set.size, 1, 'a lifted revocation is not kept')
  }
})

t.test('a whole revocation (revocations:read) is read as its notice is; a source by its hash, never its value', async (t) => {
  const whole = {
    ...notice('source', token.sourceHashes[0]!),
    value: 'k8s:prod:node:node-a',
    reason: 'node compromised',
    createdBy: 'bootstrap',
    liftedBy: null,
    liftReason: null,
  }
  t.same(revocationRecordOf(whole), {
    id: whole.id,
    kind: 'source',
    target: token.sourceHashes[0],
    createdAt: now - 60_000,
    expiresAt: undefined,
    lifted: false,
  })
  const { sourceHash: _, ...withoutHash } = whole as Record<string, unknown>
  t.equal(revocationRecordOf(withoutHash), undefined, 'a source revocation without its hash cannot be used')
  t.equal(revocationRecordOf({ ...whole, kind: 'other' }), undefined)
  t.equal(revocationRecordOf('nope'), undefined)
})

t.test('a revocation counts until its expiresAt, and is forgotten once no token it covers can be valid', async (t) => {
  const set = new RevocationSet(24 * HOUR)
  set.apply(revocationRecordOf(notice('token', token.tokenId, { expiresAt: new Date(now + 60_000).toISOString() }))!, now)
  set.apply(revocationRecordOf(notice('grant', token.grants[0]!))!, now)
  t.equal(set.find({ ...token, grants: [] }, now), 'token')
  t.equal(set.find({ ...token, grants: [] }, now + 60_000), undefined, 'expired: it no longer counts')
  t.equal(set.prune(now + 60_000), 1, 'and is forgotten')
  t.equal(set.find(token, now + 23 * HOUR), 'grant', 'a revocation without expiry counts while a token it covers may live')
  t.equal(set.prune(now + 24 * HOUR - 60_000), 1, 'forgotten a token lifetime (and the margin) after it was made')
  t.equal(set.size, 0)
  set.apply(revocationRecordOf(notice('subject', token.subject, { createdAt: new Date(now - 25 * HOUR).toISOString() }))!, now)
  t.equal(set.size, 0, 'one made longer ago than any token lives is not even kept')
})

t.test('a full listing replaces what is held', async (t) => {
  const set = new RevocationSet(24 * HOUR)
  set.apply(revocationRecordOf(notice('token', token.tokenId))!, now)
  set.replace(
    [revocationRecordOf(notice('key', 'kid-1'))!, revocationRecordOf(notice('grant', 'g', { liftedAt: new Date(now).toISOString() }))!],
    now,
  )
  t.equal(set.size, 1)
  t.equal(set.find(token, now), 'key')
})

t.test('a revocation that expires with its token counts for the clock tolerance after, as long as the token is accepted', async (t) => {
  const expiresAt = now + 60_000
  const record = revocationRecordOf(notice('token', token.tokenId, { expiresAt: new Date(expiresAt).toISOString() }))!
  const withGrace = new RevocationSet(24 * HOUR, 10_000)
  withGrace.apply(record, now)
  t.equal(withGrace.find(token, expiresAt + 9_999), 'token', 'within the tolerance past exp: still revoked')
  t.equal(withGrace.find(token, expiresAt + 10_000), undefined, 'past it: the token is refused as expired anyway')
  const without = new RevocationSet(24 * HOUR)
  without.apply(record, now)
  t.equal(without.find(token, expiresAt), undefined, 'no tolerance: gone at expiresAt')
  const late = new RevocationSet(24 * HOUR, 10_000)
  late.apply(record, expiresAt + 5_000)
  t.equal(late.find(token, expiresAt + 5_000), 'token', 'heard after expiresAt but within the tolerance: kept')
})
