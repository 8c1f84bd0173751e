// The two confirmations: revoke (with the live tokens it will cut off) and lift. Each is the second
// click of a two-click action; the first opened it with its target.
import { ApiError, call, withQuery } from './api.js'
import { alertError, announce, byId, plural } from './dom.js'

const KIND_NAMES = { subject: 'identity', source: 'source', grant: 'grant', token: 'token' }
const COUNT_PAGES = 4
const PAGE = 500

const changed = new Set()

/** Called after every revocation made or lifted here (the views refresh). */
export function onRevocationsChanged(listener) {
  changed.add(listener)
}

function notifyChanged() {
  for (const listener of changed) listener()
}

let revokeTarget = null
let counting = 0

/** How many live tokens the ledger holds for the target, counted the way the revocation will cut them off. */
async function countLive(kind, value, knownLive) {
  if (kind === 'token') {
    if (knownLive === true) return '1 live token will be cut off.'
    if (knownLive === false) return 'This token has expired already.'
    return 'At most 1 live token will be cut off.'
  }
  let count = 0
  let cursor
  for (let page = 0; page < COUNT_PAGES; page++) {
    const { body } = await call('GET', withQuery('/v1/ledger', { [kind]: value, live: 'true', limit: PAGE, cursor }))
    count += body.entries.length
    cursor = body.nextCursor
    if (cursor === undefined) return `${plural(count, 'live token')} will be cut off.`
  }
  return `More than ${count} live tokens will be cut off.`
}

/** Opens the revoke confirmation for a target; `knownLive` for a token whose row says whether it is live. */
export function openRevokeDialog({ kind, value, knownLive }) {
  const dialog = byId('revoke-dialog')
  revokeTarget = { kind, value }
  byId('revoke-dialog-title').textContent = `Revoke this ${KIND_NAMES[kind]}`
  byId('revoke-dialog-target').textContent = `${kind} ${value}`
  const count = byId('revoke-dialog-count')
  count.textContent = 'Counting live tokens…'
  byId('revoke-reason').value = ''
  const mine = ++counting
  countLive(kind, value, knownLive).then(
    (text) => {
      if (mine === counting) count.textContent = text
    },
    (error) => {
      if (mine === counting) count.textContent = `The live tokens could not be counted: ${error.message}`
    },
  )
  dialog.showModal()
  byId('revoke-reason').focus()
}

let liftTarget = null

/** Opens the lift confirmation for a revocation in force. */
export function openLiftDialog(revocation) {
  liftTarget = revocation
  byId('lift-dialog-target').textContent = `${revocation.kind} ${revocation.value}`
  byId('lift-reason').value = ''
  byId('lift-dialog').showModal()
  byId('lift-reason').focus()
}

async function revoke(reason) {
  const { kind, value } = revokeTarget
  const { body } = await call('POST', '/v1/revocations', { kind, value, reason })
  if (body.alreadyRevoked) {
    announce(`Already revoked: ${kind} ${value} (since ${body.revocation.createdAt}, by ${body.revocation.createdBy}).`)
  } else {
    const cut =
      body.liveTokensCutOff === null
        ? `the live tokens could not be counted (${body.liveTokensCutOffUnavailable ?? 'no reason given'})`
        : `${plural(body.liveTokensCutOff, 'live token')} cut off`
    announce(`Revoked ${kind} ${value}: ${cut}.`)
  }
}

async function lift(reason) {
  const { body } = await call('DELETE', `/v1/revocations/${encodeURIComponent(liftTarget.id)}`, { reason })
  announce(`Lifted the revocation of ${body.revocation.kind} ${body.revocation.value}.`)
}

/** Wires both dialogs: submit confirms, Cancel and Escape close (a modal dialog gives focus back to its opener). */
export function setUpDialogs() {
  for (const [dialogId, formId, action] of [
    ['revoke-dialog', 'revoke-dialog-form', revoke],
    ['lift-dialog', 'lift-dialog-form', lift],
  ]) {
    const dialog = byId(dialogId)
    const form = byId(formId)
    form.querySelector('[data-close]').addEventListener('click', () => dialog.close())
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      const reason = form.elements.reason.value.trim()
      if (reason === '') return
      const buttons = form.querySelectorAll('button')
      buttons.forEach((button) => (button.disabled = true))
      try {
        await action(reason)
        dialog.close()
        notifyChanged()
      } catch (error) {
        dialog.close()
        alertError(error instanceof ApiError ? `Refused (${error.status}): ${error.message}` : `Failed: ${error.message}`)
      } finally {
        buttons.forEach((button) => (button.disabled = false))
      }
    })
  }
}
