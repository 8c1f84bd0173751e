import type { GrantDraft } from '../../src/grants/grant-store.js'

/** A grant as the API would take it: payments' service accounts reading the ledger for a day from `now`. */
export function grantDraft(now: number, overrides: Partial<GrantDraft> = {}): GrantDraft {
  return {
    subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/*',
    conditions: {},
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    maxTtlSeconds: 600,
    owner: 'team-payments',
    description: '',
    expiresAt: new Date(now + 86_400_000),
    enabled: true,
    requireDpop: false,
    mayAct: [],
    ...overrides,
  }
}
