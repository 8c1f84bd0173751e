// The confirmation before applying a least-privilege finding's changes: the second click of a
// two-click action. It shows the exact requests, then sends them in the report's order.
import { ApiError, call } from './api.js'
import { alertError, announce, byId, el, plural, replaceChildren } from './dom.js'

let target = null
let applied = () => {}

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

/** Opens the confirmation for a finding with changes; `onApplied` runs after they were sent (all, or up to a refusal). */
export function openApplyDialog(finding, onApplied) {
  target = finding
  applied = onApplied
  byId('apply-dialog-target').textContent = `${finding.kind} of grant ${finding.grantId} (${finding.subject})`
  byId('apply-dialog-count').textContent = `${plural(finding.changes.length, 'request')}, sent in this order:`
  replaceChildren(byId('apply-dialog-requests'), finding.changes.map(request))
  byId('apply-dialog').showModal()
  // Focus on the harmless choice: applying takes a deliberate second click.
  byId('apply-cancel').focus()
}

/** Sends the changes in order, stopping at the first refusal (the ones before it stay applied). */
async function apply(finding) {
  const { changes } = finding
  for (const [index, change] of changes.entries()) {
    const extra = change.ifMatch === undefined ? {} : { 'if-match': change.ifMatch }
    try {
      await call(change.method, change.path, change.body, extra)
    } catch (error) {
      const why = error instanceof ApiError ? `refused (${error.status}): ${error.message}` : `failed: ${error.message}`
      const before =
        index === 0 ? 'nothing was changed' : `the ${plural(index, 'request')} before it ${index === 1 ? 'was' : 'were'} applied`
      alertError(`Request ${index + 1} of ${changes.length} (${change.method} ${change.path}) ${why}; ${before}.`)
      return
    }
  }
  announce(`Applied the ${finding.kind} change to grant ${finding.grantId}: ${plural(changes.length, 'request')} sent.`)
}

export function setUpApplyDialog() {
  const dialog = byId('apply-dialog')
  const form = byId('apply-dialog-form')
  byId('apply-cancel').addEventListener('click', () => dialog.close())
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (target === null) return
    const finding = target
    const buttons = form.querySelectorAll('button')
    buttons.forEach((button) => (button.disabled = true))
    try {
      await apply(finding)
    } finally {
      target = null
      buttons.forEach((button) => (button.disabled = false))
      dialog.close()
      applied()
    }
  })
  dialog.addEventListener('close', () => {
    target = null
  })
}
