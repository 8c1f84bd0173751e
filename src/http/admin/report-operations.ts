import { prose } from '../../lib/prose.js'
import { LeastPrivilegeQuery, LeastPrivilegeReportJson, type LeastPrivilegeReportJson as Report } from '../../reports/report-json.js'
import { operation } from '../openapi/operation.js'
import { ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'

const grantId = '437ebe95-6d54-45a7-a492-eecc2cb37dc1'
const example: Report = {
  generatedAt: '2026-11-23T12:00:00.000Z',
  days: 30,
  expiringWithinDays: 14,
  since: '2026-10-24T12:00:00.000Z',
  grants: [
    {
      grant: grantId,
      owner: 'team-orders',
      subject: 'spiffe://example.org/k8s/prod/ns/orders/sa/api',
      lastUsed: '2026-11-23T11:58:00.000Z',
      identities: 1,
      audiences: [
        { audience: 'orders-db', lastUsed: '2026-11-23T11:58:00.000Z' },
        { audience: 'inventory', lastUsed: null },
      ],
      scopes: [
        { scope: 'orders:read', lastUsed: '2026-11-23T11:58:00.000Z' },
        { scope: 'orders:write', lastUsed: '2026-09-02T08:00:00.000Z' },
      ],
      unusedAudiences: ['inventory'],
      unusedScopes: ['orders:write'],
    },
  ],
  findings: [
    {
      kind: 'unused-access',
      grantId,
      owner: 'team-orders',
      subject: 'spiffe://example.org/k8s/prod/ns/orders/sa/api',
      unusedAudiences: ['inventory'],
      unusedScopes: ['orders:write'],
      changes: [
        {
          method: 'PUT',
          path: `/v1/grants/${grantId}`,
          ifMatch: '"3"',
          body: {
            subject: 'spiffe://example.org/k8s/prod/ns/orders/sa/api',
            conditions: {},
            audiences: ['orders-db'],
            scopes: ['orders:read'],
            maxTtlSeconds: 600,
            owner: 'team-orders',
            description: 'The orders API reads its database.',
            expiresAt: '2027-02-21T12:00:00.000Z',
            enabled: true,
            requireDpop: false,
            mayAct: [],
          },
        },
      ],
    },
    {
      kind: 'stale-identity',
      subject: 'spiffe://example.org/k8s/prod/ns/legacy/sa/batch',
      attestor: 'prod',
      lastSeen: '2026-08-30T03:00:00.000Z',
    },
  ],
  staleIdentitiesTruncated: false,
}

export const reportOperations = {
  leastPrivilege: operation({
    tags: ['reports'],
    operationId: 'leastPrivilegeReport',
    summary: 'Granted versus used: what each grant gave, and what to take away',
    description: prose`
      For each live grant (enabled, not expired) the caller may see: the audiences and scopes it
      contributed to tokens in the last \`days\` days, those it did not, and when it was last used;
      then the findings, each tightening one carrying the requests that would make it (ready
      \`PUT\`, \`POST\` and \`DELETE\` requests of \`/v1/grants\`). Applied, they leave every identity
      able to get what it got in the window and no other audience or scope of those grants. A
      scope belongs to a grant for all of its audiences: one used with any of them is kept. A
      team's token (its \`scope\`) sees its own grants and the identities under its prefixes only.
      Read from the grants and the inventory's roll-ups, never from the ledger: a grant's use is
      known as far back as the inventory (the upgrade that added it), past the ledger's retention.
    `,
    parameters: { query: LeastPrivilegeQuery },
    responses: {
      200: {
        description: 'The report.',
        content: { 'application/json': { schema: LeastPrivilegeReportJson, example } },
      },
      400: ValidationProblem,
      ...ADMIN_FAILURES,
    },
  }),
}
