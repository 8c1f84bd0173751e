import type { Page } from 'playwright-core'
import type { Test } from 'tap'
import { ADMIN_TOKEN, TRUST_DOMAIN } from './service.js'
import { focused, text, untilText, type PageGlobals } from './console-page.js'

/**
 * The least-privilege view's `unused-access` finding, whose change is a PUT with If-Match
 * (test/console/console-browser.test.ts runs it after the split): the console shows the request as
 * it goes on the wire; when someone else changed the grant after the report read it, the service's
 * 412 is said in the dialog and nothing changes; the report loaded again suggests the replacement at
 * the new version, and applied, the grant is exactly the one the dialog showed.
 */

const AUDIT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/audit/sa/reader`
const SINCE = '2026-10-24 12:00:00Z'

type Json = Record<string, unknown>

export interface ReplaceFlow {
  page: Page
  url: string
  createGrant(grant: Json): Promise<Json>
  exchange(namespace: string, serviceAccount: string, audience?: string, scope?: string): Promise<{ status: number; body: Json }>
  /** Writes the inventory's roll-ups now: the report reads them. */
  flush(): Promise<void>
  shot(name: string, fullPage?: boolean): Promise<unknown>
}

/** The grant as PUT takes it: the API's view of it less what the service keeps for itself. */
function bodyOf({ id: _id, version: _version, createdAt: _createdAt, updatedAt: _updatedAt, ...body }: Json): Json {
  return body
}

/** Answers the id of the grant it replaced. */
export async function replaceGrant(t: Test, { page, url, createGrant, exchange, flush, shot }: ReplaceFlow): Promise<string> {
  const api = async (method: string, path: string, body?: Json, ifMatch?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (ifMatch !== undefined) headers['if-match'] = ifMatch
    const response = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    t.equal(response.status, 200, `${method} ${path}`)
    return (await response.json()) as Json
  }

  // One identity of its own, using one of two audiences and one of two scopes: its grant is narrowed.
  const grant = await createGrant({
    subject: AUDIT,
    audiences: ['audit-api', 'reports-api'],
    scopes: ['audit:read', 'audit:write'],
    owner: 'team-platform',
    description: 'Audit trail reader.',
  })
  const grantId = grant.id as string
  t.same((await exchange('audit', 'reader', 'audit-api', 'audit:read')).status, 200)
  await flush()

  const narrowed = (from: Json): Json => ({ ...bodyOf(from), audiences: ['audit-api'], scopes: ['audit:read'] })
  const { findings } = (await api('GET', '/v1/reports/least-privilege?days=30')) as { findings: Json[] }
  t.same(
    findings.find((finding) => finding.kind === 'unused-access'),
    {
      kind: 'unused-access',
      grantId,
      owner: 'team-platform',
      subject: AUDIT,
      unusedAudiences: ['reports-api'],
      unusedScopes: ['audit:write'],
      changes: [{ method: 'PUT', path: `/v1/grants/${grantId}`, ifMatch: '"1"', body: narrowed(grant) }],
    },
    'the report suggests the grant replaced, at the version it read',
  )

  await page.getByRole('button', { name: 'Show', exact: true }).click()
  const shown = `4 findings over the 30 days since ${SINCE} (unused-access: 1, ownerless-grant: 3).`
  t.equal(await untilText(page, '#report-summary', shown), shown)
  const applyButton = page.getByRole('button', { name: `Apply the unused-access change to grant ${grantId}` })
  const dialog = page.getByRole('dialog', { name: 'Apply the suggested change' })
  const confirm = dialog.getByRole('button', { name: 'Apply', exact: true })
  const request = (from: Json, version: number) =>
    `PUT /v1/grants/${grantId}\nIf-Match: "${version}"\n\n${JSON.stringify(narrowed(from), null, 2)}`

  // First click: the PUT as it goes on the wire, If-Match and the whole grant.
  await applyButton.click()
  await dialog.waitFor()
  t.equal(await text(page, '#apply-dialog-count'), '1 request, sent in this order:')
  t.same(await page.locator('#apply-dialog-requests li p').allTextContents(), [
    `Replace grant ${grantId}: audiences audit-api; scopes audit:read`,
  ])
  t.same(await page.locator('#apply-dialog-requests pre').allTextContents(), [request(grant, 1)])
  await shot('10-replace-dialog', false)

  // Meanwhile someone else changes the grant: the report's version is stale.
  const theirs = await api('PUT', `/v1/grants/${grantId}`, { ...bodyOf(grant), description: 'Audit trail reader (INC-43).' }, '"1"')
  t.equal(theirs.version, 2)

  // Second click: refused with 412, said in the dialog, which stays open with Apply off; nothing changed.
  await confirm.click()
  const stale =
    `Request 1 of 1 (PUT /v1/grants/${grantId}) was refused: the grant changed after the report read it ` +
    `(412: grant ${grantId} is at version 2, not the one in If-Match; read it again and retry). ` +
    'Nothing was changed. Close this to load the report again, with the grants as they are now.'
  t.equal(await untilText(page, '#apply-dialog-error', stale), stale, 'the 412 is said in the dialog')
  t.equal(await dialog.isVisible(), true, 'the dialog stays open')
  t.equal(await confirm.isDisabled(), true, 'the stale change cannot be sent again')
  t.equal(await focused(page), 'apply-cancel')
  t.equal(await text(page, '#apply-cancel'), 'Close')
  t.notMatch(await text(page, '#status'), 'unused-access', 'nothing is announced as applied')
  await shot('11-stale-version', false)
  t.strictSame(await api('GET', `/v1/grants/${grantId}`), theirs, 'the grant is as the other change left it')

  // Closed, the report is loaded again: the same finding, now at version 2 and with their description.
  await dialog.getByRole('button', { name: 'Close' }).click()
  t.equal(await dialog.isVisible(), false)
  // The report, loaded again, takes focus (the row's button was replaced).
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.activeElement?.id === 'report-title')
  await applyButton.click()
  await dialog.waitFor()
  t.equal(await text(page, '#apply-dialog-error'), '', 'the last refusal is gone')
  t.equal(await confirm.isDisabled(), false)
  t.same(await page.locator('#apply-dialog-requests pre').allTextContents(), [request(theirs, 2)])
  await confirm.click()
  const applied = `Applied the unused-access change to grant ${grantId}: 1 request sent.`
  t.equal(await untilText(page, '#status', applied), applied)
  t.equal(await dialog.isVisible(), false, 'the dialog is closed')
  // The whole grant, through the API: theirs with only what was used, one version on.
  t.strictSame(await api('GET', `/v1/grants/${grantId}`), { ...theirs, ...narrowed(theirs), version: 3 }, 'the grant is replaced')
  await applyButton.waitFor({ state: 'detached' })
  const after = `3 findings over the 30 days since ${SINCE} (ownerless-grant: 3).`
  t.equal(await untilText(page, '#report-summary', after), after)

  t.same([(await exchange('audit', 'reader', 'audit-api', 'audit:read')).status], [200], 'what it used it still gets')
  const scope = await exchange('audit', 'reader', 'audit-api', 'audit:write')
  t.same([scope.status, scope.body.error], [400, 'invalid_scope'], 'the unused scope is refused')
  const audience = await exchange('audit', 'reader', 'reports-api')
  t.same([audience.status, audience.body.error], [400, 'invalid_target'], 'the unused audience is refused')
  return grantId
}
