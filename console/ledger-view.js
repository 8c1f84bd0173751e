// Search the ledger: who got which token, still live or not, and revoke from what was found.
import { ApiError, call, withQuery } from './api.js'
import { openRevokeDialog } from './dialogs.js'
import { alertError, byId, el, formValues, instant, plural, replaceChildren } from './dom.js'

const FILTERS = ['subject', 'source', 'grant', 'audience']
let query = null
let nextCursor
let shown = 0

function row(entry) {
  return el(
    'tr',
    {},
    el('td', { class: 'mono' }, instant(entry.issuedAt)),
    el('td', { class: 'mono' }, entry.subject),
    el('td', {}, el('span', { class: 'mono' }, entry.audience), entry.scopes.length > 0 ? ` (${entry.scopes.join(' ')})` : ''),
    el('td', { class: 'mono' }, entry.sources.join(', ')),
    el('td', { class: 'mono' }, entry.grantIds.join(', ')),
    el('td', { class: 'mono' }, instant(entry.expiresAt), entry.live ? '' : ' (expired)'),
    el(
      'td',
      { class: 'actions' },
      el(
        'button',
        {
          type: 'button',
          class: 'danger quiet',
          'aria-label': `Revoke token ${entry.jti}`,
          onclick: () => openRevokeDialog({ kind: 'token', value: entry.jti, knownLive: entry.live }),
        },
        'Revoke token…',
      ),
      el(
        'button',
        {
          type: 'button',
          class: 'danger quiet',
          'aria-label': `Revoke identity ${entry.subject}`,
          onclick: () => openRevokeDialog({ kind: 'subject', value: entry.subject }),
        },
        'Revoke identity…',
      ),
    ),
  )
}

/** With exactly one of identity, source or grant searched: a button to revoke just that. */
function revokeWhatWasSearched() {
  const named = FILTERS.filter((name) => name !== 'audience' && query[name] !== undefined)
  if (named.length !== 1) return null
  const kind = named[0]
  const value = query[kind]
  const what = { subject: 'identity', source: 'source', grant: 'grant' }[kind]
  return el('button', { type: 'button', class: 'danger', onclick: () => openRevokeDialog({ kind, value }) }, `Revoke this ${what}…`)
}

async function load(more) {
  const table = byId('ledger-table')
  const body = table.tBodies[0]
  try {
    const { body: page } = await call('GET', withQuery('/v1/ledger', { ...query, cursor: more ? nextCursor : undefined, limit: 100 }))
    if (!more) {
      body.replaceChildren()
      shown = 0
    }
    page.entries.forEach((entry) => body.append(row(entry)))
    shown += page.entries.length
    nextCursor = page.nextCursor
    table.hidden = shown === 0
    byId('ledger-more').hidden = nextCursor === undefined
    const live = query.live === 'true' ? 'live ' : ''
    const count = nextCursor === undefined ? plural(shown, `${live}token`) : `${shown}+ ${live}tokens (more to load)`
    replaceChildren(byId('ledger-summary'), el('span', {}, count), revokeWhatWasSearched())
  } catch (error) {
    alertError(error instanceof ApiError ? `Ledger search refused (${error.status}): ${error.message}` : error.message)
  }
}

/** Searches the ledger with these filters (the inventory's "Live tokens" uses it), filling the form. */
export async function searchLedger(filters) {
  const form = byId('ledger-form')
  for (const name of FILTERS) form.elements[name].value = filters[name] ?? ''
  form.elements.live.checked = filters.live !== false
  await submit()
}

async function submit() {
  const values = formValues(byId('ledger-form'))
  query = {}
  for (const name of FILTERS) if (values[name] !== undefined) query[name] = values[name]
  if (byId('ledger-live').checked) query.live = 'true'
  await load(false)
}

/** The view again after a revocation or a lift: the same search. */
export async function refreshLedger() {
  if (query !== null) await load(false)
}

export function setUpLedger() {
  byId('ledger-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void submit()
  })
  byId('ledger-more').addEventListener('click', () => void load(true))
}
