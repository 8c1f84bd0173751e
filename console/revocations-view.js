// Revocations in force, lifting them, revoking by hand, and the live stream of changes.
import { ApiError, call, follow, withQuery } from './api.js'
import { openLiftDialog, openRevokeDialog } from './dialogs.js'
import { alertError, byId, el, formValues, instant, plural, replaceChildren } from './dom.js'

const MAX_LOG = 200

function row(revocation) {
  return el(
    'tr',
    {},
    el('td', {}, revocation.kind),
    el('td', { class: 'mono' }, revocation.value),
    el('td', {}, revocation.reason),
    el('td', { class: 'mono' }, instant(revocation.createdAt)),
    el('td', {}, revocation.createdBy),
    el(
      'td',
      { class: 'actions' },
      el(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'aria-label': `Lift the revocation of ${revocation.kind} ${revocation.value}`,
          onclick: () => openLiftDialog(revocation),
        },
        'Lift…',
      ),
    ),
  )
}

/** Every revocation in force, all pages. */
export async function refreshRevocations() {
  try {
    const all = []
    let cursor
    do {
      const { body } = await call('GET', withQuery('/v1/revocations', { active: 'true', limit: 500, cursor }))
      all.push(...body.revocations)
      cursor = body.nextCursor
    } while (cursor !== undefined)
    const table = byId('revocations-table')
    table.tBodies[0].replaceChildren(...all.map(row))
    table.hidden = all.length === 0
    replaceChildren(byId('revocations-summary'), plural(all.length, 'revocation') + ' in force.')
  } catch (error) {
    alertError(error instanceof ApiError ? `Revocations refused (${error.status}): ${error.message}` : error.message)
  }
}

let watching = null

function logEvent(text, kind) {
  const log = byId('stream-log')
  log.prepend(el('li', { class: kind }, text))
  while (log.children.length > MAX_LOG) log.lastElementChild.remove()
}

function setStreamState(text, pressed) {
  byId('stream-state').textContent = text
  const toggle = byId('stream-toggle')
  toggle.setAttribute('aria-pressed', String(pressed))
  toggle.textContent = pressed ? 'Stop watching' : 'Watch the stream'
}

/** Follows GET /v1/revocations/stream until stopped, resuming after a drop from the last event seen. */
async function watch(session) {
  let lastEventId
  let delay = 1000
  while (watching === session) {
    try {
      await follow('/v1/revocations/stream', {
        lastEventId,
        signal: session.abort.signal,
        onOpen: () => {
          delay = 1000
          setStreamState('Watching: changes appear below as they happen.', true)
        },
        onEvent: (event) => {
          if (event.id !== undefined) lastEventId = event.id
          const data = JSON.parse(event.data)
          if (event.event === 'revoked' || event.event === 'lifted') {
            const by = event.event === 'revoked' ? data.createdBy : data.liftedBy
            const at = event.event === 'revoked' ? data.createdAt : data.liftedAt
            logEvent(
              `${instant(at)} ${event.event} ${data.kind} ${data.value ?? data.sourceHash ?? ''}${by ? ` by ${by}` : ''}`,
              event.event,
            )
            void refreshRevocations()
          } else if (event.event === 'closed' || event.event === 'gone') {
            // The token may no longer follow, or the position is gone: reconnecting would not help.
            logEvent(`stream ${event.event}: ${data.reason ?? data.detail ?? ''}`, 'closed')
            if (event.event === 'closed') session.stop = true
            else lastEventId = undefined
          }
        },
      })
    } catch (error) {
      if (watching !== session) return
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        alertError(`The stream was refused (${error.status}): ${error.message}`)
        session.stop = true
      }
    }
    if (watching !== session) return
    if (session.stop) break
    setStreamState(`Reconnecting in ${delay / 1000} s…`, true)
    await new Promise((resolve) => setTimeout(resolve, delay))
    delay = Math.min(delay * 2, 30_000)
  }
  if (watching === session) {
    watching = null
    setStreamState('Not watching.', false)
  }
}

export function stopWatching() {
  if (!watching) return
  watching.abort.abort()
  watching = null
  setStreamState('Not watching.', false)
}

export function setUpRevocations() {
  byId('stream-toggle').addEventListener('click', () => {
    if (watching) return stopWatching()
    watching = { abort: new AbortController(), stop: false }
    setStreamState('Connecting…', true)
    void watch(watching)
  })
  byId('revoke-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const { kind, value } = formValues(event.currentTarget)
    if (value !== undefined) openRevokeDialog({ kind, value })
  })
}
