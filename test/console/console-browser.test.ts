import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { packageRoot } from '../../src/lib/package-root.js'
import { startListeningService } from '../support/listening-service.js'
import { applyFinding } from '../support/console-report-flow.js'
import { replaceGrant } from '../support/console-replace-flow.js'
import { focused, text, untilText, type PageGlobals } from '../support/console-page.js'
import { ADMIN_TOKEN, JWT_TOKEN_TYPE, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/**
 * The incident console in a real browser (Debian's Chromium, driven by playwright-core; .ci/run
 * installs it) against the real service on real Postgres and Redis, listening on a port: the
 * responder's flow from sign-in to lift, then the least-privilege report's findings applied through the
 * console: a glob split (POSTs, then DELETE), and a grant narrowed by a PUT with If-Match, refused
 * (412) while stale and applied once the report is read again. Screenshots of each step go to
 * test-artifacts/console/.
 */

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'console')
const PAYMENTS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const BILLING = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/billing/sa/worker`

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`)
  return chromium.launch({ executablePath: CHROMIUM, headless: true })
}

t.test('a responder finds an identity in the console, revokes it, sees its exchanges refused, lifts it, applies a finding', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const service = await startListeningService(t)
  const { sts, url } = service
  const grant = await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/*/sa/*`,
    // `reports-api`: granted, never asked for, so the least-privilege report takes it away.
    audiences: ['ledger-api', 'reports-api'],
    scopes: ['ledger:read'],
    owner: 'team-platform',
  })
  const exchange = async (namespace: string, serviceAccount: string, audience = 'ledger-api', scope?: string) => {
    const response = await fetch(`${url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await sts.cluster.serviceAccountToken({ namespace, serviceAccount }),
        subject_token_type: JWT_TOKEN_TYPE,
        audience,
        ...(scope === undefined ? {} : { scope }),
      }),
    })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  t.equal((await exchange('payments', 'api')).status, 200)
  t.equal((await exchange('payments', 'api')).status, 200)
  t.equal((await exchange('billing', 'worker')).status, 200)
  // The inventory and the report read roll-ups written behind the ledger: written now, not in 5 s.
  await sts.services.inventoryRecorder.flush()

  const browser = await launch()
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const requested: string[] = []
  const problems: string[] = []
  page.on('request', (request) => requested.push(request.url()))
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.text()} (${message.location().url})`)
  })
  page.on('pageerror', (error) => problems.push(error.message))
  // A modal dialog's backdrop covers the viewport only: those shots are of the viewport.
  const shot = (name: string, fullPage = true) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage })

  await page.goto(`${url}/console/`)
  t.equal(await page.title(), 'Seed STS incident console')
  await shot('01-sign-in')

  // A token the service does not know is refused, and forgotten.
  await page.getByLabel('Admin token').fill('not-an-admin-token-0123456789')
  await page.getByRole('button', { name: 'Sign in' }).click()
  const refusedSignIn = 'Not signed in: the admin token is not valid'
  t.equal(await untilText(page, '#alert', refusedSignIn), refusedSignIn)
  t.equal(await page.locator('#workspace').isVisible(), false)

  // Sign in: the token pasted once, by its label.
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  t.equal(await untilText(page, '#status', 'Signed in.'), 'Signed in.')
  t.equal(await page.getByLabel('Admin token').inputValue(), '', 'the field is emptied at once')
  t.equal(await focused(page), 'ledger-title', 'focus moves to the view')

  // Follow the revocation stream from the start.
  await page.getByRole('button', { name: 'Revocations' }).click()
  await page.getByRole('button', { name: 'Watch the stream' }).click()
  t.equal(
    await untilText(page, '#stream-state', 'Watching: changes appear below as they happen.'),
    'Watching: changes appear below as they happen.',
  )

  // Find the identity in the inventory.
  await page.getByRole('button', { name: 'Inventory' }).click()
  await page.getByLabel('Identity (SPIFFE ID or glob)', { exact: true }).last().fill(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/**`)
  await page.locator('#inventory-form').getByRole('button', { name: 'Search' }).click()
  t.equal(await untilText(page, '#inventory-summary', '2 identities.'), '2 identities.')
  t.same(await page.locator('#inventory-table tbody tr td:first-child').allTextContents(), [BILLING, PAYMENTS])
  await page.getByRole('button', { name: `Details of ${PAYMENTS}` }).click()
  await page.locator('#identity-detail:not([hidden])').waitFor()
  t.match(await text(page, '#identity-detail-body'), grant.id as string, 'the detail names the grant that served it')
  await shot('02-inventory')

  // Revoke it: the first click opens the confirmation with the live tokens it cuts off, the second revokes.
  await page.getByRole('button', { name: `Revoke identity ${PAYMENTS}` }).click()
  const dialog = page.getByRole('dialog', { name: 'Revoke this identity' })
  await dialog.waitFor()
  t.equal(await text(page, '#revoke-dialog-target'), `subject ${PAYMENTS}`)
  t.equal(await untilText(page, '#revoke-dialog-count', '2 live tokens will be cut off.'), '2 live tokens will be cut off.')
  t.equal(await focused(page), 'revoke-reason', 'focus is on the reason')
  await page.keyboard.type('INC-42: credentials leaked')
  await shot('03-revoke-dialog', false)
  await dialog.getByRole('button', { name: 'Revoke' }).click()
  const revoked = `Revoked subject ${PAYMENTS}: 2 live tokens cut off.`
  t.equal(await untilText(page, '#status', revoked), revoked)
  t.equal(await dialog.isVisible(), false, 'the dialog is closed')

  // Its exchanges are refused; another identity's are not.
  const refused = await exchange('payments', 'api')
  t.equal(refused.status, 400)
  t.equal(refused.body.error, 'invalid_grant')
  t.equal(refused.body.error_reason, 'revoked')
  t.equal((await exchange('billing', 'worker')).status, 200, 'only the revoked identity is cut off')

  // The revocation is in force, and the stream told the console.
  await page.getByRole('button', { name: 'Revocations' }).click()
  await page.locator('#revocations-table:not([hidden])').waitFor()
  t.same(await page.locator('#revocations-table tbody tr td:nth-child(-n+3)').allTextContents(), [
    'subject',
    PAYMENTS,
    'INC-42: credentials leaked',
  ])
  const revokedEvent = `2026-11-23 12:00:00Z revoked subject ${PAYMENTS} by bootstrap`
  await page.locator('#stream-log li', { hasText: 'revoked subject' }).waitFor({ timeout: 15_000 })
  t.same(await page.locator('#stream-log li').allTextContents(), [revokedEvent])
  await shot('04-revocations')

  // Lift it, with a reason, in two clicks.
  await page.getByRole('button', { name: `Lift the revocation of subject ${PAYMENTS}` }).click()
  const lift = page.getByRole('dialog', { name: 'Lift the revocation' })
  await lift.waitFor()
  await page.getByLabel('Reason (kept in the audit log)').last().fill('INC-42: credentials rotated')
  await lift.getByRole('button', { name: 'Lift' }).click()
  const lifted = `Lifted the revocation of subject ${PAYMENTS}.`
  t.equal(await untilText(page, '#status', lifted), lifted)
  t.equal(await untilText(page, '#revocations-summary', '0 revocations in force.'), '0 revocations in force.')
  await page.locator('#stream-log li', { hasText: 'lifted' }).waitFor({ timeout: 15_000 })
  t.same(await page.locator('#stream-log li').allTextContents(), [
    `2026-11-23 12:00:00Z lifted subject ${PAYMENTS} by bootstrap`,
    revokedEvent,
  ])
  await shot('05-lifted')

  // It exchanges again.
  t.equal((await exchange('payments', 'api')).status, 200, 'exchanges succeed again once lifted')

  // The ledger shows its tokens, the new one included.
  await page.getByRole('button', { name: 'Ledger' }).click()
  await page.locator('#ledger-subject').fill(PAYMENTS)
  await page.locator('#ledger-form').getByRole('button', { name: 'Search' }).click()
  t.equal(await untilText(page, '#ledger-summary span', '3 live tokens'), '3 live tokens')
  await shot('06-ledger')

  // The least-privilege report, where the service has none, says so: the service's own 404 for a route it lacks stands in.
  await page.route(`${url}/v1/reports/least-privilege?*`, async (route) =>
    route.fulfill({ response: await route.fetch({ url: `${url}/v1/reports/absent` }) }),
  )
  await page.getByRole('button', { name: 'Least privilege' }).click()
  const notOffered = 'This service does not offer the least-privilege report yet (GET /v1/reports/least-privilege answered 404).'
  t.equal(await untilText(page, '#report-summary', notOffered), notOffered)
  t.equal(await page.locator('#report-findings').isVisible(), false)
  await page.unroute(`${url}/v1/reports/least-privilege?*`)

  await applyFinding(t, { page, url, grant, exchange, shot })
  const replaced = await replaceGrant(t, {
    page,
    url,
    createGrant: (body) => sts.createGrant(body),
    exchange,
    flush: () => sts.services.inventoryRecorder.flush(),
    shot,
  })

  // The token never left memory: no storage, no cookie, no URL.
  t.same(
    await page.evaluate(() => {
      const { localStorage, sessionStorage, document, location } = globalThis as unknown as PageGlobals
      return { local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, url: location.href }
    }),
    { local: 0, session: 0, cookie: '', url: `${url}/console/` },
  )
  t.same(await context.cookies(), [])
  t.same(
    requested.filter((address) => address.includes(ADMIN_TOKEN) || address.includes(encodeURIComponent(ADMIN_TOKEN))),
    [],
    'no request URL carries the token',
  )
  t.ok(
    requested.some((address) => address.startsWith(`${url}/v1/revocations/stream`)),
    'the stream was followed',
  )
  // Chromium logs every failed load: the unknown token's 401, the 404 standing in for a service
  // without the report, and the 412 of the replacement sent at a stale version.
  t.same(
    problems,
    [
      `Failed to load resource: the server responded with a status of 401 (Unauthorized) (${url}/v1/ledger?limit=1)`,
      `Failed to load resource: the server responded with a status of 404 (Not Found) (${url}/v1/reports/least-privilege?days=30&expiringWithinDays=14)`,
      `Failed to load resource: the server responded with a status of 412 (Precondition Failed) (${url}/v1/grants/${replaced})`,
    ],
    'no script error, and nothing the Content-Security-Policy refused',
  )

  // Signing out forgets it: the next call would have no token.
  await page.getByRole('button', { name: 'Sign out' }).click()
  t.equal(await untilText(page, '#status', 'Signed out: the token is forgotten.'), 'Signed out: the token is forgotten.')
  t.equal(await page.locator('#workspace').isVisible(), false)
})
