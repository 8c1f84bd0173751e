import t from 'tap'
import { AdminOidcConfig } from '../../src/admin-tokens/oidc-config.js'
import { principalOf } from '../../src/admin-tokens/oidc-principal.js'
import { ForbiddenError, UnauthenticatedError } from '../../src/errors.js'
import { parseConfig } from '../../src/config.js'
import { configChanges } from '../../src/reload/config-changes.js'

const NS = 'spiffe://example.org/k8s/prod/ns'
const EXP = 2_000_000_000

const config = AdminOidcConfig.parse({
  issuer: 'https://login.example.test',
  audience: 'seed-sts-admin',
  groups: {
    'sts-admins': { roles: ['grants:read', 'grants:write', 'audit:read', 'keys:write'], unrestricted: true },
    'sts-auditors': { roles: ['audit:read', 'ledger:read'], unrestricted: true },
    'team-pay': { roles: ['grants:read', 'grants:write'], scope: { owners: ['team-pay'], subjectPrefixes: [`${NS}/pay`] } },
    'team-ledger': {
      roles: ['revocations:write', 'grants:read'],
      scope: { owners: ['team-ledger', 'team-pay'], subjectPrefixes: [`${NS}/ledger`] },
    },
  },
})

const principal = (claims: Record<string, unknown>, cfg = config) => {
  const identity = principalOf({ sub: 'alice', exp: EXP, ...claims }, cfg)
  return { name: identity.name, roles: [...identity.roles].sort(), scope: identity.scope }
}

t.test('unrestricted groups: their roles together, no scope', async (t) => {
  t.same(principal({ groups: ['sts-auditors', 'nobody-maps-this'] }), {
    name: 'oidc:alice',
    roles: ['audit:read', 'ledger:read'],
    scope: null,
  })
  t.same(principal({ groups: ['sts-auditors', 'sts-admins'] }).roles, [
    'audit:read',
    'grants:read',
    'grants:write',
    'keys:write',
    'ledger:read',
  ])
})

t.test("teams' groups: their roles, and the union of their teams", async (t) => {
  t.same(principal({ groups: 'team-pay' }), {
    name: 'oidc:alice',
    roles: ['grants:read', 'grants:write'],
    scope: { owners: ['team-pay'], subjectPrefixes: [`${NS}/pay`] },
  })
  t.same(principal({ groups: ['team-ledger', 'team-pay'] }), {
    name: 'oidc:alice',
    roles: ['grants:read', 'grants:write', 'revocations:write'],
    scope: { owners: ['team-ledger', 'team-pay'], subjectPrefixes: [`${NS}/ledger`, `${NS}/pay`] },
  })
})

t.test(
  'an unrestricted group and a team: its teams by default, unrestricted only when configured so, never lending a role beyond its scope',
  async (t) => {
    t.same(
      principal({ groups: ['sts-auditors', 'team-pay'] }),
      {
        name: 'oidc:alice',
        roles: ['grants:read', 'grants:write', 'ledger:read'],
        scope: { owners: ['team-pay'], subjectPrefixes: [`${NS}/pay`] },
      },
      'acts for its team, with the roles a scoped principal may hold (audit:read is not one)',
    )
    const unrestricted = { ...config, mixedGroups: 'unrestricted' as const }
    t.same(
      principal({ groups: ['sts-auditors', 'team-pay'] }, unrestricted),
      { name: 'oidc:alice', roles: ['audit:read', 'ledger:read'], scope: null },
      "acts for everyone, with its unrestricted groups' roles only: the team's grants:write stays in the team",
    )
  },
)

t.test('a token whose groups map to nothing is refused with 403, whatever the groups claim holds', async (t) => {
  for (const groups of [['somebody-else'], [], undefined, ['constructor', '__proto__', 'toString']]) {
    t.throws(
      () => principal({ groups }),
      new ForbiddenError(
        `oidc:alice signed in, but none of its ${groups?.length ?? 0} groups (claim groups) is mapped to roles in admin.oidc.groups`,
        'oidc_groups_unmapped',
      ),
      JSON.stringify(groups),
    )
  }
})

t.test('the name and groups claims are configurable, and refused when malformed', async (t) => {
  const keycloak = { ...config, groupsClaim: 'realm_access.roles', nameClaim: 'email' }
  t.same(principal({ email: 'alice@example.test', realm_access: { roles: ['sts-auditors'] } }, keycloak), {
    name: 'oidc:alice@example.test',
    roles: ['audit:read', 'ledger:read'],
    scope: null,
  })
  t.throws(
    () => principal({ realm_access: { roles: ['sts-auditors'] } }, keycloak),
    new UnauthenticatedError(
      "the identity provider's token has no usable name claim email (a string of 1 to 256 printable characters)",
      'oidc_token_invalid',
    ),
  )
  for (const sub of ['', 'a\nb', 'x'.repeat(257), 42])
    t.throws(
      () => principal({ sub, groups: ['sts-auditors'] }),
      new UnauthenticatedError(
        "the identity provider's token has no usable name claim sub (a string of 1 to 256 printable characters)",
        'oidc_token_invalid',
      ),
      JSON.stringify(sub),
    )
  t.throws(
    () => principal({ groups: [1, 'sts-auditors'] }),
    new UnauthenticatedError(
      "the identity provider's token has a groups claim groups that is neither a string nor a list of strings",
      'oidc_token_invalid',
    ),
  )
})

t.test('the configuration maps every group explicitly, and accepts asymmetric algorithms only', async (t) => {
  const problems = (oidc: Record<string, unknown>) => {
    const result = AdminOidcConfig.safeParse({ issuer: 'https://login.example.test', audience: 'a', ...oidc })
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
  }
  const scope = { owners: ['team-pay'], subjectPrefixes: [`${NS}/pay`] }
  t.same(problems({ groups: { g: { roles: ['grants:read'], unrestricted: true } } }), [])
  t.same(problems({ groups: { g: { roles: ['grants:read'], scope } } }), [])
  t.same(problems({ groups: { g: { roles: ['grants:read'] } } }), [
    'groups.g: give exactly one of scope (the team its members act for) or unrestricted: true',
  ])
  t.same(problems({ groups: { g: { roles: ['grants:read'], scope, unrestricted: true } } }), [
    'groups.g: give exactly one of scope (the team its members act for) or unrestricted: true',
  ])
  t.match(problems({ groups: { g: { roles: ['grants:read'], unrestricted: false } } }), [/^groups\.g\.unrestricted: /])
  t.same(problems({ groups: { g: { roles: ['audit:read', 'grants:read'], scope } } }), [
    'groups.g.roles: a group with a scope may hold only grants:read, grants:write, revocations:read, revocations:write, ledger:read, reports:read, admin-tokens:write; not audit:read',
  ])
  t.same(problems({ groups: {} }), ['groups: map at least one group: a token whose groups map to none is refused'])
  for (const alg of ['none', 'HS256'])
    t.match(problems({ algorithms: [alg], groups: { g: { roles: ['grants:read'], unrestricted: true } } }), [/^algorithms\.0: /], alg)
})

t.test('admin.oidc is fixed until a restart: a reload that changes it is refused by name', async (t) => {
  const base = {
    issuer: 'https://sts.example.test',
    trustDomain: 'example.org',
    audience: 'seed-sts',
    database: { dataDir: 'memory://' },
    admin: { oidc: { issuer: 'https://login.example.test', audience: 'a', groups: { g: { roles: ['grants:read'], unrestricted: true } } } },
  }
  const running = parseConfig(base)
  const next = parseConfig({
    ...base,
    admin: { oidc: { ...base.admin.oidc, groups: { g: { roles: ['grants:write'], unrestricted: true } } } },
  })
  t.same(configChanges(running, next).fixed, ['admin.oidc.groups.g.roles'])
})
