import t from 'tap'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { freshPostgresDatabase } from '../support/servers.js'

/** Migration 007: rows written with GitHub's mixed case get the one lower-case spelling the service now mints. */
t.test('mixed-case GitHub names in grants, revocations and the ledger are lower-cased; nothing else changes', async (t) => {
  const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 2 })
  t.teardown(() => db.close())
  const all = readMigrations()
  await migrate(
    db,
    all.filter((m) => m.version < '007'),
  )

  const at = '2026-01-01T00:00:00Z'
  const grant = (id: string, subject: string, conditions: object) =>
    db.query(
      `INSERT INTO grants (id, subject, conditions, audiences, scopes, max_ttl_seconds, owner, expires_at, created_at, updated_at)
       VALUES ($1, $2, $3, '{api}', '{}', 3600, 'team', '2027-01-01Z', $4, $4)`,
      [id, subject, JSON.stringify(conditions), at],
    )
  await grant('00000000-0000-4000-8000-000000000001', 'spiffe://example.org/github/ACME/Api', {
    repository: 'ACME/Api',
    repository_owner: ['ACME', 'Other-*'],
    environment: 'Production',
    job_workflow_ref: 'ACME/Platform/.github/workflows/Deploy.yml@refs/heads/Main',
    ref: 'refs/heads/Main',
  })
  await grant('00000000-0000-4000-8000-000000000002', 'spiffe://example.org/ci/gitlab/Group/*', { repository: 'Keep/Case' })
  await grant('00000000-0000-4000-8000-000000000003', 'spiffe://example.org/github/acme/**', { ref: 'refs/heads/main' })

  const revoke = (id: string, kind: string, value: string, createdAt: string) =>
    db.query(`INSERT INTO revocations (id, kind, value, reason, created_at, created_by) VALUES ($1, $2, $3, 'incident', $4, 'admin')`, [
      id,
      kind,
      value,
      createdAt,
    ])
  await revoke('00000000-0000-4000-8000-00000000000a', 'source', 'github:ACME/Api', '2026-01-01T00:00:00Z')
  await revoke('00000000-0000-4000-8000-00000000000b', 'source', 'github:acme/api', '2026-01-02T00:00:00Z')
  await revoke('00000000-0000-4000-8000-00000000000c', 'subject', 'spiffe://example.org/github/ACME/*', '2026-01-01T00:00:00Z')
  await revoke('00000000-0000-4000-8000-00000000000d', 'source', 'oidc:gitlab', '2026-01-01T00:00:00Z')
  await revoke('00000000-0000-4000-8000-00000000000e', 'subject', 'spiffe://example.org/ci/Keep/Case', '2026-01-01T00:00:00Z')

  await db.query(
    `INSERT INTO ledger (jti, subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids, issued_at, expires_at)
     VALUES ('j1', 'spiffe://example.org/github/ACME/Api', 'github', 'github', 'f', '{github:ACME,github:repository_owner_id:1,github:ACME/Api,github:repository_id:2}', 'api', '{}', '{}', $1, $1),
            ('j2', 'spiffe://example.org/ci/Keep/Case', 'gitlab', 'oidc', 'f', '{oidc:gitlab}', 'api', '{}', '{}', $1, $1)`,
    [at],
  )

  // Up to 011 only, which turns the ledger into partitions whose jti must be a UUID (these are not).
  const through010 = all.filter((m) => m.version < '011')
  t.same(
    await migrate(db, through010),
    through010.filter((m) => m.version >= '007').map((m) => m.version),
  )

  t.same(await db.query('SELECT id, subject, conditions, version FROM grants ORDER BY id'), [
    {
      id: '00000000-0000-4000-8000-000000000001',
      subject: 'spiffe://example.org/github/acme/api',
      conditions: {
        repository: 'acme/api',
        repository_owner: ['acme', 'other-*'],
        environment: 'production',
        job_workflow_ref: 'acme/platform/.github/workflows/Deploy.yml@refs/heads/Main',
        ref: 'refs/heads/Main',
      },
      version: 2,
    },
    {
      id: '00000000-0000-4000-8000-000000000002',
      subject: 'spiffe://example.org/ci/gitlab/Group/*',
      conditions: { repository: 'Keep/Case' },
      version: 1,
    },
    {
      id: '00000000-0000-4000-8000-000000000003',
      subject: 'spiffe://example.org/github/acme/**',
      conditions: { ref: 'refs/heads/main' },
      version: 1,
    },
  ])
  t.same(await db.query('SELECT id, kind, value, lifted_by, lift_reason FROM revocations ORDER BY id'), [
    { id: '00000000-0000-4000-8000-00000000000a', kind: 'source', value: 'github:acme/api', lifted_by: null, lift_reason: null },
    {
      id: '00000000-0000-4000-8000-00000000000b',
      kind: 'source',
      value: 'github:acme/api',
      lifted_by: 'migration 007',
      lift_reason: 'the same as revocation 00000000-0000-4000-8000-00000000000a once GitHub names are lower-case',
    },
    {
      id: '00000000-0000-4000-8000-00000000000c',
      kind: 'subject',
      value: 'spiffe://example.org/github/acme/*',
      lifted_by: null,
      lift_reason: null,
    },
    { id: '00000000-0000-4000-8000-00000000000d', kind: 'source', value: 'oidc:gitlab', lifted_by: null, lift_reason: null },
    {
      id: '00000000-0000-4000-8000-00000000000e',
      kind: 'subject',
      value: 'spiffe://example.org/ci/Keep/Case',
      lifted_by: null,
      lift_reason: null,
    },
  ])
  t.same(await db.query('SELECT jti, subject, sources FROM ledger ORDER BY jti'), [
    {
      jti: 'j1',
      subject: 'spiffe://example.org/github/acme/api',
      sources: ['github:acme', 'github:repository_owner_id:1', 'github:acme/api', 'github:repository_id:2'],
    },
    { jti: 'j2', subject: 'spiffe://example.org/ci/Keep/Case', sources: ['oidc:gitlab'] },
  ])
})
