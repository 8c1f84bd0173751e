import t from 'tap'
import { migrate, readMigrations } from '../../../src/db/migrations.js'
import { createPostgresDatabase } from '../../../src/db/postgres.js'
import { freshPostgresDatabase } from '../../support/servers.js'
import { startTestService } from '../../support/service.js'

const RESERVED = 'is reserved: no admin token may be named bootstrap, seed-sts, unknown'

t.test('the audit log names who acted, unforgeably: reserved names are refused and names are never reused', async (t) => {
  const sts = await startTestService(t)
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, authorization: string, payload?: object) =>
    sts.app.inject({ method, url, headers: { authorization }, ...(payload ? { payload } : {}) })
  const bootstrap = sts.admin.authorization

  for (const name of ['bootstrap', 'seed-sts', 'unknown']) {
    const refused = await call('POST', '/v1/admin-tokens', bootstrap, { name, roles: ['introspect'] })
    t.equal(refused.statusCode, 400, `${name} is refused`)
    t.same(refused.json(), {
      type: 'about:blank',
      title: 'Invalid request',
      status: 400,
      detail: `the admin token is not valid: name: ${RESERVED}`,
      instance: '/v1/admin-tokens',
      reason: 'input_invalid',
      errors: [{ path: 'name', message: RESERVED }],
    })
  }

  const first = (await call('POST', '/v1/admin-tokens', bootstrap, { name: 'ci-pipeline', roles: ['grants:read'] })).json()
  t.equal((await call('DELETE', `/v1/admin-tokens/${first.adminToken.id}`, bootstrap)).statusCode, 200)
  const reused = await call('POST', '/v1/admin-tokens', bootstrap, { name: 'ci-pipeline', roles: ['grants:write'] })
  t.equal(reused.statusCode, 409, 'a revoked token keeps its name for good')
  t.same(reused.json(), {
    type: 'about:blank',
    title: 'Conflict',
    status: 409,
    detail: 'an admin token named ci-pipeline exists or existed: a name is never reused, so the audit log names one token',
    instance: '/v1/admin-tokens',
    reason: 'admin_token_name_taken',
  })
  const actors = (await call('GET', '/v1/audit?actor=ci-pipeline', bootstrap)).json()
  t.same(actors.entries, [], 'nothing was done in its name')
})

t.test('role boundaries on admin tokens are symmetric: a token sees and revokes only tokens within its roles', async (t) => {
  const sts = await startTestService(t)
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, authorization: string, payload?: object) =>
    sts.app.inject({ method, url, headers: { authorization }, ...(payload ? { payload } : {}) })
  const bootstrap = sts.admin.authorization
  const make = async (by: string, name: string, roles: string[]) => {
    const response = await call('POST', '/v1/admin-tokens', by, { name, roles })
    t.equal(response.statusCode, 201, `${name} made`)
    return response.json<{ adminToken: { id: string; name: string }; token: string }>()
  }
  const responder = await make(bootstrap, 'responder', ['revocations:read', 'revocations:write', 'admin-tokens:write'])
  const minter = await make(bootstrap, 'minter', ['admin-tokens:write', 'introspect'])
  const asMinter = `Bearer ${minter.token}`
  const introspector = await make(asMinter, 'introspector', ['introspect'])

  const listed = await call('GET', '/v1/admin-tokens', asMinter)
  t.equal(listed.statusCode, 200)
  // Made at the same (frozen) instant: the list's order among them is by id, so compare sorted.
  t.same(
    listed
      .json()
      .adminTokens.map((token: { name: string }) => token.name)
      .sort(),
    ['introspector', 'minter'],
    'only tokens whose every role it holds',
  )
  const all = (await call('GET', '/v1/admin-tokens', bootstrap)).json().adminTokens
  t.same(
    all.map((token: { name: string }) => token.name).sort(),
    ['introspector', 'minter', 'responder'],
    'the bootstrap token sees every one',
  )

  const refused = await call('DELETE', `/v1/admin-tokens/${responder.adminToken.id}`, asMinter)
  t.equal(refused.statusCode, 403, 'no revoking a token with more roles')
  t.same(refused.json(), {
    type: 'about:blank',
    title: 'Forbidden',
    status: 403,
    detail: 'the admin token minter cannot revoke an admin token with roles it does not have: revocations:read, revocations:write',
    instance: `/v1/admin-tokens/${responder.adminToken.id}`,
    reason: 'roles_beyond_own',
  })
  t.equal((await call('GET', '/v1/revocations', `Bearer ${responder.token}`)).statusCode, 200, 'the responder still works')
  t.equal(
    (await call('DELETE', `/v1/admin-tokens/${introspector.adminToken.id}`, asMinter)).statusCode,
    200,
    'one within its roles it revokes',
  )
  t.equal(
    (await call('DELETE', `/v1/admin-tokens/${responder.adminToken.id}`, bootstrap)).statusCode,
    200,
    'the bootstrap token revokes any',
  )
  const audit = (await call('GET', '/v1/audit?targetType=admin-token', bootstrap)).json()
  t.same(
    audit.entries.map((e: { action: string; actor: string; targetId: string }) => [e.action, e.actor, e.targetId]),
    [
      ['admin-token.create', 'bootstrap', responder.adminToken.id],
      ['admin-token.create', 'bootstrap', minter.adminToken.id],
      ['admin-token.create', 'minter', introspector.adminToken.id],
      ['admin-token.revoke', 'minter', introspector.adminToken.id],
      ['admin-token.revoke', 'bootstrap', responder.adminToken.id],
    ],
    'the refused revocation left no entry',
  )
})

t.test('migration 008 renames tokens under reserved or reused names, and makes names unique for good', async (t) => {
  const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 2 })
  t.teardown(() => db.close())
  const all = readMigrations()
  const before = all.filter((m) => m.version < '008')
  t.ok(all.some((m) => m.version.startsWith('008_')))
  await migrate(db, before)
  const insert = (id: string, name: string, created: string, revoked: string | null) =>
    db.query(
      `INSERT INTO admin_tokens (id, name, token_sha256, roles, created_at, created_by, revoked_at) VALUES ($1, $2, $3, '{introspect}', $4, 'bootstrap', $5)`,
      [id, name, `sha-${id}`, created, revoked],
    )
  const id = (n: number) => `00000000-0000-4000-8000-00000000000${n}`
  await insert(id(1), 'bootstrap', '2026-01-01T00:00:00Z', null)
  await insert(id(2), 'ci', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')
  await insert(id(3), 'ci', '2026-01-03T00:00:00Z', '2026-01-04T00:00:00Z')
  await insert(id(4), 'ci', '2026-01-05T00:00:00Z', null)
  await insert(id(5), 'old', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')
  await insert(id(6), 'old', '2026-01-03T00:00:00Z', '2026-01-04T00:00:00Z')
  await migrate(db, all)
  const rows = await db.query<{ id: string; name: string }>('SELECT id, name FROM admin_tokens ORDER BY id')
  t.same(rows, [
    { id: id(1), name: `bootstrap~${id(1)}` },
    { id: id(2), name: `ci~${id(2)}` },
    { id: id(3), name: `ci~${id(3)}` },
    { id: id(4), name: 'ci' },
    { id: id(5), name: `old~${id(5)}` },
    { id: id(6), name: 'old' },
  ])
  await t.rejects(insert(id(7), 'old', '2026-02-01T00:00:00Z', null), { code: '23505' }, 'a name once used is taken for good')
})
