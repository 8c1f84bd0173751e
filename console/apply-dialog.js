// The confirmation before applying a least-privilege finding's changes: the second click of a
// two-click action. It shows the exact requests, then sends them in the report's order.
import { ApiError, call } from './api.js'
import { announce, byId, el, plural, replaceChildren } from './dom.js'

let target = null
let applied = () => {}
/** Whether Apply was clicked since the dialog opened: something may have changed, so the report is loaded again on close. */
let tried = false

/** One line per request, the way the table and the dialog name it. */
export function describeChange(change) {
  const body = change.body
  const access = body === undefined ? '' : `: audiences ${list(body.audiences)}; scopes ${list(body.scopes)}`
  if (change.method === 'PUT') return `Replace grant ${lastSegment(change.path)}${access}`
  if (change.method === 'POST') return `Create a grant for ${body.subject}${access}`
  if (change.method === 'DELETE') return `Disable grant ${lastSegment(change.path)}`
  return `${change.method} ${change.path}`
}

function list(values) {
  return values.length === 0 ? 'none' : values.join(', ')
}

function lastSegment(path) {
  return path.slice(path.lastIndexOf('/') + 1)
}

function request(change, index) {
  return el(
    'li',
    {},
    el('p', {}, describeChange(change)),
    el('pre', { class: 'mono request', 'aria-label': `Request ${index + 1}` }, requestText(change)),
  )
}

/** The request as it goes on the wire: request line, If-Match, body. */
function requestText(change) {
  const lines = [`${change.method} ${change.path}`]
  if (change.ifMatch !== undefined) lines.push(`If-Match: ${change.ifMatch}`)
  if (change.body !== undefined) lines.push('', JSON.stringify(change.body, null, 2))
  return lines.join('\n')
}

/** Opens the confirmation for a finding with changes; `onApplied` runs once the dialog closes after a try (all sent, or up to a refusal). */
export function openApplyDialog(finding, onApplied) {
  target = finding
  applied = onApplied
  tried = false
  byId('apply-dialog-target').textContent = `${finding.kind} of grant ${finding.grantId} (${finding.subject})`
  byId('apply-dialog-count').textContent = `${plural(finding.changes.length, 'request')}, sent in this order:`
  replaceChildren(byId('apply-dialog-requests'), finding.changes.map(request))
  byId('apply-dialog-error').textContent = ''
  byId('apply-confirm').disabled = false
  byId('apply-cancel').textContent = 'Cancel'
  byId('apply-dialog').showModal()
  // Focus on the harmless choice: applying takes a deliberate second click.
  byId('apply-cancel').focus()
}

/** Why a request was refused, in the words a responder acts on. */
function refusal(finding, index, error) {
  const { changes } = finding
  const change = changes[index]
  const which = `Request ${index + 1} of ${changes.length} (${change.method} ${change.path})`
  let why
  if (error instanceof ApiError && error.status === 412) {
    // The report read the grant at the version in If-Match; someone changed it since. Sending the
    // suggestion anyway would undo their change, which is what If-Match is there to prevent.
    why = `was refused: the grant changed after the report read it (412: ${error.message})`
  } else if (error instanceof ApiError) {
    why = `was refused (${error.status}): ${error.message}`
  } else {
    why = `failed: ${error.message}`
  }
  const before = index === 0 ? 'Nothing was changed' : `The ${plural(index, 'request')} before it ${index === 1 ? 'was' : 'were'} applied`
  return `${which} ${why}. ${before}. Close this to load the report again, with the grants as they are now.`
}

/** Sends the changes in order, stopping at the first refusal (the ones before it stay applied); answers the refusal, if any. */
async function apply(finding) {
  for (const [index, change] of finding.changes.entries()) {
    const extra = change.ifMatch === undefined ? {} : { 'if-match': change.ifMatch }
    try {
      await call(change.method, change.path, change.body, extra)
    } catch (error) {
      return refusal(finding, index, error)
    }
  }
  return undefined
}

export function setUpApplyDialog() {
  const dialog = byId('apply-dialog')
  const form = byId('apply-dialog-form')
  const confirm = byId('apply-confirm')
  const cancel = byId('apply-cancel')
  let sending = false
  cancel.addEventListener('click', () => dialog.close())
  // Escape while the requests are in flight would hide how they ended.
  dialog.addEventListener('cancel', (event) => {
    if (sending) event.preventDefault()
  })
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (target === null || sending) return
    const finding = target
    sending = true
    tried = true
    confirm.disabled = true
    cancel.disabled = true
    let refused
    try {
      refused = await apply(finding)
    } finally {
      sending = false
      cancel.disabled = false
    }
    if (refused === undefined) {
      announce(`Applied the ${finding.kind} change to grant ${finding.grantId}: ${plural(finding.changes.length, 'request')} sent.`)
      dialog.close()
      return
    }
    // The refusal stays in the dialog, beside the requests it is about; Apply stays off, since the
    // finding no longer describes the grants (the report is loaded again on close).
    byId('apply-dialog-error').textContent = refused
    cancel.textContent = 'Close'
    cancel.focus()
  })
  dialog.addEventListener('close', () => {
    target = null
    if (!tried) return
    tried = false
    applied()
  })
}
