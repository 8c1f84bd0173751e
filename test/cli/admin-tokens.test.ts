import t from 'tap'
import { aligned, cells, runCli, startCli } from '../support/cli-harness.js'

/**
 * `sts admin-tokens` against the real service and the admin token API contract:
 * POST /v1/admin-tokens {name, roles, scope?, expiresAt?} -> {adminToken, token},
 * GET /v1/admin-tokens -> {adminTokens}, DELETE /v1/admin-tokens/{id} -> {adminToken}.
 */

const PAYMENTS = 'spiffe://example.org/k8s/prod/ns/payments'

t.test('make a team token, use it, list it, revoke it', async (t) => {
  const { cli, json, env } = await startCli(t)

  const made = await cli(
    'admin-tokens',
    'create',
    'payments-team',
    '--role',
    'grants:read',
    '--role',
    'grants:write',
    '--owner',
    'team-payments',
    '--subject-prefix',
    PAYMENTS,
    '--expires-at',
    '2027-01-31T00:00:00Z',
  )
  t.equal(made.code, 0, made.stderr)
  t.equal(made.stderr, 'the token is shown this once: keep it as a secret\n')
  const fields = Object.fromEntries(
    made.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/ {2,}/) as [string, string]),
  )
  const secret = fields.token ?? ''
  t.match(secret, /^sts_admin_[A-Za-z0-9_-]{43}$/)
  t.same(
    { ...fields, id: undefined, createdAt: undefined, token: undefined },
    {
      id: undefined,
      name: 'payments-team',
      state: 'active',
      roles: 'grants:read grants:write',
      owners: 'team-payments',
      subjectPrefixes: PAYMENTS,
      createdAt: undefined,
      createdBy: 'bootstrap',
      expiresAt: '2027-01-31T00:00:00Z',
      revokedAt: '-',
      revokedBy: '-',
      token: undefined,
    },
  )

  // The secret works, within its team: a grant outside its prefix is refused.
  const team = { ...env, STS_ADMIN_TOKEN: secret }
  const inside = await runCli(
    [
      'grants',
      'create',
      '--subject',
      `${PAYMENTS}/sa/api`,
      '--audience',
      'ledger-api',
      '--owner',
      'team-payments',
      '--description',
      'payments api',
    ],
    team,
  )
  t.equal(inside.code, 0, inside.stderr)
  const outside = await runCli(
    [
      'grants',
      'create',
      '--subject',
      'spiffe://example.org/k8s/prod/ns/billing/sa/api',
      '--audience',
      'ledger-api',
      '--owner',
      'team-payments',
    ],
    team,
  )
  t.not(outside.code, 0, 'a subject outside the team prefix is refused')

  const table = await cli('admin-tokens', 'list')
  t.equal(table.code, 0, table.stderr)
  t.ok(aligned(table.stdout), `aligned:\n${table.stdout}`)
  const id = fields.id ?? ''
  t.same(cells(table.stdout), [
    ['ID', 'NAME', 'STATE', 'ROLES', 'SCOPE', 'EXPIRES', 'CREATED BY'],
    [
      id,
      'payments-team',
      'active',
      'grants:read,grants:write',
      `owners team-payments; subjects ${PAYMENTS}`,
      '2027-01-31T00:00:00Z',
      'bootstrap',
    ],
  ])

  t.same(await cli('admin-tokens', 'revoke', id), { code: 0, stderr: '', stdout: `revoked admin token payments-team (${id})\n` })
  const listed = await json<{ adminTokens: { id: string; revokedAt: string | null; revokedBy: string | null }[] }>('admin-tokens', 'list')
  t.same(
    listed.adminTokens.map((token) => [token.id, token.revokedAt !== null, token.revokedBy]),
    [[id, true, 'bootstrap']],
  )
  t.equal(cells((await cli('admin-tokens', 'list')).stdout)[1]?.[2], 'revoked')
  t.equal((await cli('admin-tokens', 'revoke', id)).code, 1, 'a revoked token cannot be revoked again (404)')
})

t.test('usage errors are caught before any call', async (t) => {
  const { cli } = await startCli(t)
  const noRole = await cli('admin-tokens', 'create', 'x')
  t.equal(noRole.code, 2)
  t.match(noRole.stderr, /--role R is required/)
  const halfScope = await cli('admin-tokens', 'create', 'x', '--role', 'grants:read', '--owner', 'team-a')
  t.equal(halfScope.code, 2)
  t.match(halfScope.stderr, /a team scope takes both --owner and --subject-prefix/)
  t.same(await cli('admin-tokens', 'list'), { code: 0, stdout: '', stderr: 'no admin tokens\n' }, 'nothing was made')
})
