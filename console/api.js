// The admin API client. The admin token lives in this module's closure and nowhere else: never in
// storage, a cookie or a URL, so it is gone when the page is closed or reloaded.

/** An answer of the admin API that is not a success: its status and problem (RFC 9457), if any. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `the service answered ${status}`)
    this.status = status
    this.reason = problem?.reason
    this.problem = problem
  }
}

let token = null

export function signIn(value) {
  token = value
}

export function signOut() {
  token = null
}

export function signedIn() {
  return token !== null
}

function headers(extra = {}) {
  if (token === null) throw new ApiError(401, { detail: 'not signed in' })
  return { authorization: `Bearer ${token}`, ...extra }
}

/** A path with its query: empty values are left out. */
export function withQuery(path, query = {}) {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const search = params.toString()
  return search === '' ? path : `${path}?${search}`
}

/** Calls the admin API (same origin); answers the parsed JSON body, or throws an ApiError. `extra`: more headers (If-Match). */
export async function call(method, path, body, extra = {}) {
  const init = {
    method,
    headers: headers(body === undefined ? extra : { ...extra, 'content-type': 'application/json' }),
    cache: 'no-store',
  }
  if (body !== undefined) init.body = JSON.stringify(body)
  const response = await fetch(path, init)
  const text = await response.text()
  let parsed
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (!response.ok) throw new ApiError(response.status, parsed)
  return { status: response.status, body: parsed }
}

/**
 * Follows a server-sent events stream with fetch: EventSource cannot send the Authorization header.
 * Calls onEvent({id, event, data}) for each event; resolves when the stream ends or `signal` aborts.
 */
export async function follow(path, { lastEventId, signal, onOpen, onEvent }) {
  const extra = { accept: 'text/event-stream' }
  if (lastEventId !== undefined) extra['last-event-id'] = lastEventId
  const response = await fetch(path, { headers: headers(extra), signal, cache: 'no-store' })
  if (!response.ok) {
    let problem
    try {
      problem = await response.json()
    } catch {
      problem = undefined
    }
    throw new ApiError(response.status, problem)
  }
  onOpen?.()
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value.replaceAll('\r\n', '\n')
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = { event: 'message', data: '' }
      const data = []
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'data') data.push(fieldValue)
        else if (field === 'event') event.event = fieldValue
        else if (field === 'id') event.id = fieldValue
      }
      if (data.length === 0) continue
      event.data = data.join('\n')
      onEvent(event)
    }
  }
}
