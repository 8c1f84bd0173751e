// The least-privilege report (GET /v1/reports/least-privilege): what each grant gave against what it
// grants, the findings by kind, and their suggested changes applied in two clicks.
import { ApiError, call, withQuery } from './api.js'
import { describeChange, openApplyDialog } from './apply-dialog.js'
import { alertError, byId, el, formValues, instant, plural, replaceChildren } from './dom.js'

const REPORT = '/v1/reports/least-privilege'

/** The kinds in the order the table groups them: the ones with changes first. */
const KINDS = ['unused-grant', 'unused-access', 'split-grant', 'guardrail', 'ownerless-grant', 'expiring-grant', 'stale-identity']

let loading = 0

function list(values) {
  return values.length === 0 ? 'none' : values.join(', ')
}

function unused(finding) {
  return `Unused audiences: ${list(finding.unusedAudiences)}; unused scopes: ${list(finding.unusedScopes)}.`
}

/** What the finding says, in words. */
function what(finding) {
  switch (finding.kind) {
    case 'unused-grant':
      return `No token in the window; last used ${finding.lastUsed === null ? 'never' : instant(finding.lastUsed)}.`
    case 'unused-access':
      return unused(finding)
    case 'split-grant':
      return `Its glob served ${plural(finding.subjects.length, 'identity', 'identities')}: ${finding.subjects.join(', ')}. ${unused(finding)}`
    case 'expiring-grant':
      return `Expires ${instant(finding.expiresAt)}.`
    case 'ownerless-grant':
      return `No live admin token is scoped to its owner ${finding.owner}.`
    case 'guardrail':
      return finding.rules.map((rule) => `${rule.rule} (${rule.field}): ${rule.reason}`).join(' ')
    case 'stale-identity':
      return `Last seen ${instant(finding.lastSeen)} (attestor ${finding.attestor}): a candidate for offboarding.`
    default:
      return ''
  }
}

function about(finding) {
  if (finding.grantId === undefined) return el('td', { class: 'about' }, el('span', { class: 'mono' }, finding.subject))
  return el(
    'td',
    { class: 'about' },
    el('span', { class: 'mono' }, finding.subject),
    el('br'),
    el('span', { class: 'muted' }, 'grant '),
    el('span', { class: 'mono' }, finding.grantId),
    el('br'),
    el('span', { class: 'muted' }, `owner ${finding.owner}`),
  )
}

function findingRow(finding) {
  const changes = finding.changes ?? []
  return el(
    'tr',
    {},
    el('td', { class: 'mono kind' }, finding.kind),
    about(finding),
    el('td', {}, what(finding)),
    el(
      'td',
      {},
      changes.length === 0
        ? '—'
        : el(
            'ol',
            { class: 'changes' },
            changes.map((change) => el('li', {}, describeChange(change))),
          ),
    ),
    el(
      'td',
      { class: 'actions' },
      changes.length === 0
        ? null
        : el(
            'button',
            {
              type: 'button',
              class: 'danger quiet',
              'aria-label': `Apply the ${finding.kind} change to grant ${finding.grantId}`,
              onclick: () => openApplyDialog(finding, () => void loadReport({ focus: true })),
            },
            'Apply…',
          ),
    ),
  )
}

function used(lastUsed) {
  return lastUsed === null ? 'never' : instant(lastUsed)
}

function grantRow(grant) {
  return el(
    'tr',
    {},
    el('td', {}, el('span', { class: 'mono' }, grant.subject), el('br'), el('span', { class: 'mono muted' }, grant.grant)),
    el('td', {}, grant.owner),
    el('td', { class: 'mono' }, used(grant.lastUsed)),
    el('td', {}, String(grant.identities)),
    el('td', { class: 'mono' }, grant.audiences.map((a) => `${a.audience} (${used(a.lastUsed)})`).join(', ')),
    el('td', { class: 'mono' }, grant.scopes.map((s) => `${s.scope} (${used(s.lastUsed)})`).join(', ')),
    el('td', { class: 'mono' }, [...grant.unusedAudiences, ...grant.unusedScopes].join(', ')),
  )
}

function byKind(findings) {
  const rank = (kind) => (KINDS.includes(kind) ? KINDS.indexOf(kind) : KINDS.length)
  // Array.prototype.sort is stable: within a kind, the report's order stays.
  return [...findings].sort((a, b) => rank(a.kind) - rank(b.kind))
}

function render(report) {
  const counts = KINDS.map((kind) => [kind, report.findings.filter((finding) => finding.kind === kind).length]).filter(([, n]) => n > 0)
  replaceChildren(
    byId('report-summary'),
    `${plural(report.findings.length, 'finding')} over the ${plural(report.days, 'day')} since ${instant(report.since)}`,
    counts.length === 0 ? '.' : ` (${counts.map(([kind, n]) => `${kind}: ${n}`).join(', ')}).`,
    report.staleIdentitiesTruncated ? ' More stale identities than listed.' : '',
  )
  const findings = byId('report-findings')
  findings.tBodies[0].replaceChildren(...byKind(report.findings).map(findingRow))
  findings.hidden = report.findings.length === 0
  const grants = byId('report-grants')
  grants.tBodies[0].replaceChildren(...report.grants.map(grantRow))
  byId('report-grants-section').hidden = false
  grants.hidden = report.grants.length === 0
  byId('report-grants-summary').textContent = `${plural(report.grants.length, 'live grant')}.`
}

function clear() {
  byId('report-summary').textContent = ''
  byId('report-findings').hidden = true
  byId('report-grants-section').hidden = true
}

/** Loads the report for the form's window; `focus` moves focus to the view (after an apply, its button is gone). */
export async function loadReport({ focus = false } = {}) {
  const mine = ++loading
  const { days, expiringWithinDays } = formValues(byId('report-form'))
  try {
    const { body: report } = await call('GET', withQuery(REPORT, { days, expiringWithinDays }))
    if (mine !== loading) return
    render(report)
  } catch (error) {
    if (mine !== loading) return
    clear()
    if (error instanceof ApiError && error.status === 404 && error.reason === 'route_not_found') {
      replaceChildren(
        byId('report-summary'),
        'This service does not offer the least-privilege report yet (',
        el('code', {}, `GET ${REPORT}`),
        ' answered 404).',
      )
    } else {
      byId('report-summary').textContent = 'The report could not be loaded.'
      alertError(error instanceof ApiError ? `Report refused (${error.status}): ${error.message}` : error.message)
    }
  }
  if (focus) byId('report-title').focus()
}

export function setUpReport() {
  byId('report-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void loadReport()
  })
}
