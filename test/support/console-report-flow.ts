import type { Page } from 'playwright-core'
import type { Test } from 'tap'
import { ADMIN_TOKEN, TRUST_DOMAIN } from './service.js'
import { focused, text, untilText } from './console-page.js'

/**
 * The least-privilege view of the console (test/console/console-browser.test.ts runs it after its
 * exchanges): the finding the test's traffic makes certain is shown, applied in two clicks, and the
 * grants change exactly as it said; the workloads keep what they used and lose what they did not.
 */

const PAYMENTS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const BILLING = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/billing/sa/worker`

interface Change {
  method: string
  path: string
  ifMatch?: string
  body?: Record<string, unknown>
}

interface Finding {
  kind: string
  grantId?: string
  changes?: Change[]
}

export interface ReportFlow {
  page: Page
  url: string
  /** The grant the test made: a glob over both identities, with `ledger-api` and `reports-api`. */
  grant: Record<string, unknown>
  exchange(namespace: string, serviceAccount: string, audience?: string): Promise<{ status: number; body: Record<string, unknown> }>
  shot(name: string, fullPage?: boolean): Promise<unknown>
}

const KINDS = ['unused-grant', 'unused-access', 'split-grant', 'guardrail', 'ownerless-grant', 'expiring-grant', 'stale-identity']

export async function applyFinding(t: Test, { page, url, grant, exchange, shot }: ReportFlow): Promise<void> {
  const api = async (path: string) => {
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    t.equal(response.status, 200, `GET ${path}`)
    return (await response.json()) as Record<string, unknown>
  }
  const grantId = grant.id as string
  const report = (await api('/v1/reports/least-privilege?days=30')) as { findings: Finding[] }

  // Both identities used ledger-api (every scope, asking for none), neither reports-api: the glob is
  // split, one grant per identity in subject order.
  const splitBody = (subject: string) => ({
    subject,
    conditions: {},
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    maxTtlSeconds: grant.maxTtlSeconds,
    owner: 'team-platform',
    description: `(Split from grant ${grantId} for ${subject} by the least-privilege report.)`,
    expiresAt: grant.expiresAt,
    enabled: true,
    requireDpop: false,
    mayAct: [],
  })
  const split = report.findings.find((finding) => finding.kind === 'split-grant' && finding.grantId === grantId)
  t.same(split, {
    kind: 'split-grant',
    grantId,
    owner: 'team-platform',
    subject: grant.subject,
    subjects: [BILLING, PAYMENTS],
    unusedAudiences: ['reports-api'],
    unusedScopes: [],
    changes: [
      { method: 'POST', path: '/v1/grants', body: splitBody(BILLING) },
      { method: 'POST', path: '/v1/grants', body: splitBody(PAYMENTS) },
      { method: 'DELETE', path: `/v1/grants/${grantId}` },
    ],
  })

  // The console loads the report for its default window (30 days); its table groups the findings by kind.
  await page.getByRole('button', { name: 'Show', exact: true }).click()
  await page.locator('#report-findings:not([hidden])').waitFor()
  const kinds = report.findings.map((finding) => finding.kind).sort((a, b) => KINDS.indexOf(a) - KINDS.indexOf(b))
  t.same(await page.locator('#report-findings tbody tr td:first-child').allTextContents(), kinds)
  t.equal(await page.getByLabel('Window (days)').inputValue(), '30')
  const before = '2 findings over the 30 days since 2026-10-24 12:00:00Z (split-grant: 1, ownerless-grant: 1).'
  t.equal(await untilText(page, '#report-summary', before), before)
  await shot('07-least-privilege')

  // First click: the confirmation shows the exact requests, in order, focus on Cancel.
  await page.getByRole('button', { name: `Apply the split-grant change to grant ${grantId}` }).click()
  const dialog = page.getByRole('dialog', { name: 'Apply the suggested change' })
  await dialog.waitFor()
  t.equal(await focused(page), 'apply-cancel', 'focus is on the harmless choice')
  t.equal(await text(page, '#apply-dialog-count'), '3 requests, sent in this order:')
  t.same(await page.locator('#apply-dialog-requests pre').allTextContents(), [
    `POST /v1/grants\n\n${JSON.stringify(splitBody(BILLING), null, 2)}`,
    `POST /v1/grants\n\n${JSON.stringify(splitBody(PAYMENTS), null, 2)}`,
    `DELETE /v1/grants/${grantId}`,
  ])
  await shot('08-apply-dialog', false)

  // Second click: sent in order, announced, the report refreshed, focus back on the view.
  await dialog.getByRole('button', { name: 'Apply', exact: true }).click()
  const applied = `Applied the split-grant change to grant ${grantId}: 3 requests sent.`
  t.equal(await untilText(page, '#status', applied), applied)
  t.equal(await dialog.isVisible(), false, 'the dialog is closed')
  await page.getByRole('button', { name: `Apply the split-grant change to grant ${grantId}` }).waitFor({ state: 'detached' })
  t.equal(await focused(page), 'report-title')
  // The glob is gone from the report; the two grants of its own, made just now, are not yet unused.
  const after = '2 findings over the 30 days since 2026-10-24 12:00:00Z (ownerless-grant: 2).'
  t.equal(await untilText(page, '#report-summary', after), after)
  await shot('09-applied')

  // Through the API: the glob is disabled as it was, and each identity has a grant of its own with what it used.
  const disabled = (await api(`/v1/grants/${grantId}`)) as Record<string, unknown>
  t.same({ ...disabled, updatedAt: undefined, version: undefined }, { ...grant, enabled: false, updatedAt: undefined, version: undefined })
  const { grants } = (await api('/v1/grants?limit=100')) as { grants: Record<string, unknown>[] }
  // Made at one instant of the test's clock, they are listed in id order: compare them in subject order.
  const live = grants.filter((each) => each.enabled === true).sort((a, b) => String(a.subject).localeCompare(String(b.subject)))
  t.same(
    live.map(({ subject, conditions, audiences, scopes, maxTtlSeconds, owner, description, expiresAt, enabled, requireDpop, mayAct }) => ({
      subject,
      conditions,
      audiences,
      scopes,
      maxTtlSeconds,
      owner,
      description,
      expiresAt,
      enabled,
      requireDpop,
      mayAct,
    })),
    [splitBody(BILLING), splitBody(PAYMENTS)],
  )

  // What they used they still get, with the same scope; what they never asked for is refused.
  for (const [namespace, serviceAccount] of [
    ['payments', 'api'],
    ['billing', 'worker'],
  ] as const) {
    const used = await exchange(namespace, serviceAccount)
    t.same([used.status, used.body.scope], [200, 'ledger:read'], `${namespace} still gets ledger-api`)
    const unused = await exchange(namespace, serviceAccount, 'reports-api')
    t.same([unused.status, unused.body.error], [400, 'invalid_target'], `${namespace} is refused reports-api`)
  }
}
