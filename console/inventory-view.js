// The inventory of workload identities: what each obtained, through which grant, and when.
import { ApiError, call, withQuery } from './api.js'
import { openRevokeDialog } from './dialogs.js'
import { alertError, byId, el, formValues, instant, plural, replaceChildren } from './dom.js'

let query = null
let nextCursor
let shown = 0
let showLedger = () => {}

function row(identity) {
  return el(
    'tr',
    {},
    el('td', { class: 'mono' }, identity.subject),
    el('td', {}, `${identity.attestor} (${identity.attestorKind})`),
    el('td', { class: 'mono' }, identity.sources.slice(0, 3).join(', '), identity.sources.length > 3 ? ', …' : ''),
    el('td', { class: 'mono' }, instant(identity.lastSeen)),
    el(
      'td',
      { class: 'actions' },
      el(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'aria-label': `Details of ${identity.subject}`,
          onclick: () => void details(identity.subject),
        },
        'Details',
      ),
      el(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'aria-label': `Live tokens of ${identity.subject}`,
          onclick: () => showLedger({ subject: identity.subject }),
        },
        'Live tokens',
      ),
      el(
        'button',
        {
          type: 'button',
          class: 'danger quiet',
          'aria-label': `Revoke identity ${identity.subject}`,
          onclick: () => openRevokeDialog({ kind: 'subject', value: identity.subject }),
        },
        'Revoke…',
      ),
    ),
  )
}

function uses(audiences) {
  return el(
    'ul',
    {},
    audiences.map((audience) =>
      el(
        'li',
        {},
        el('span', { class: 'mono' }, audience.audience),
        ` last ${instant(audience.lastUsed)}`,
        audience.scopes.length > 0
          ? el(
              'ul',
              {},
              audience.scopes.map((scope) => el('li', {}, el('span', { class: 'mono' }, scope.scope), ` last ${instant(scope.lastUsed)}`)),
            )
          : null,
      ),
    ),
  )
}

/** Who acted for the identity, or whom it acted for: each with its tokens and when last. */
function delegationList(rows, identityOf) {
  return el(
    'ul',
    {},
    rows.map((row) =>
      el(
        'li',
        {},
        el('span', { class: 'mono' }, identityOf(row)),
        ` ${plural(row.tokens, 'token', 'tokens')}, last ${instant(row.lastSeen)}`,
      ),
    ),
  )
}

async function details(subject) {
  try {
    const { body } = await call('GET', withQuery('/v1/identity', { subject }))
    const identity = body.identity
    const recent = identity.dailyTokens.slice(-14)
    replaceChildren(
      byId('identity-detail-body'),
      el(
        'dl',
        {},
        el('dt', {}, 'Identity'),
        el('dd', { class: 'mono' }, identity.subject),
        el('dt', {}, 'Attestor'),
        el('dd', {}, `${identity.attestor} (${identity.attestorKind})`),
        el('dt', {}, 'First seen'),
        el('dd', { class: 'mono' }, instant(identity.firstSeen)),
        el('dt', {}, 'Last seen'),
        el('dd', { class: 'mono' }, instant(identity.lastSeen)),
        el('dt', {}, 'Sources'),
        el('dd', { class: 'mono' }, identity.sources.join(', ')),
        el('dt', {}, 'Audiences and scopes'),
        el('dd', {}, uses(identity.audiences)),
        el('dt', {}, 'Grants'),
        el(
          'dd',
          {},
          el(
            'ul',
            {},
            identity.grants.map((grant) =>
              el(
                'li',
                {},
                el('span', { class: 'mono' }, grant.grantId),
                ` last ${instant(grant.lastUsed)} `,
                el(
                  'button',
                  { type: 'button', class: 'link', onclick: () => showLedger({ grant: grant.grantId }) },
                  'live tokens of this grant',
                ),
              ),
            ),
          ),
        ),
        el('dt', {}, 'Tokens per day'),
        el('dd', { class: 'mono' }, recent.length === 0 ? 'none kept' : recent.map((day) => `${day.day}: ${day.tokens}`).join(', ')),
        // Delegations (issue 14): shown only when there are some.
        ...(identity.delegations.length === 0
          ? []
          : [
              el('dt', {}, 'Acted for it'),
              el(
                'dd',
                {},
                delegationList(identity.delegations, (d) => d.actor),
              ),
            ]),
        ...(identity.actedFor.length === 0
          ? []
          : [
              el('dt', {}, 'It acted for'),
              el(
                'dd',
                {},
                delegationList(identity.actedFor, (d) => d.subject),
              ),
            ]),
      ),
    )
    byId('identity-detail').hidden = false
    byId('identity-detail-title').focus()
  } catch (error) {
    alertError(error instanceof ApiError ? `Identity refused (${error.status}): ${error.message}` : error.message)
  }
}

async function load(more) {
  const table = byId('inventory-table')
  try {
    const { body: page } = await call('GET', withQuery('/v1/identities', { ...query, cursor: more ? nextCursor : undefined, limit: 100 }))
    if (!more) {
      table.tBodies[0].replaceChildren()
      shown = 0
      byId('identity-detail').hidden = true
    }
    page.identities.forEach((identity) => table.tBodies[0].append(row(identity)))
    shown += page.identities.length
    nextCursor = page.nextCursor
    table.hidden = shown === 0
    byId('inventory-more').hidden = nextCursor === undefined
    byId('inventory-summary').textContent =
      nextCursor === undefined ? `${plural(shown, 'identity', 'identities')}.` : `${shown}+ identities (more to load).`
  } catch (error) {
    alertError(error instanceof ApiError ? `Inventory refused (${error.status}): ${error.message}` : error.message)
  }
}

export function setUpInventory(options) {
  showLedger = options.showLedger
  byId('inventory-form').addEventListener('submit', (event) => {
    event.preventDefault()
    query = formValues(event.currentTarget)
    void load(false)
  })
  byId('inventory-more').addEventListener('click', () => void load(true))
}
