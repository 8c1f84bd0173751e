/** One server-sent event, as the HTML standard's parser dispatches it. */
export interface ServerSentEvent {
  /** The `id:` field, when the event has one. */
  id: string | undefined
  /** The `event:` field; `message` when absent. */
  event: string
  data: string
}

/**
 * The text/event-stream parser of the HTML standard (section 9.2.6), for chunks as they arrive: lines
 * end with CRLF, LF or CR; `data` lines are joined with LF; comments (`:`) and `retry` are read and
 * dropped; a blank line dispatches the event, if it has data. Node 20 has no EventSource, and the
 * verifier needs what EventSource hides anyway (the status of a refused connection, its own retry).
 */
export class EventStreamParser {
  private buffer = ''
  private id: string | undefined
  private event = ''
  private data: string[] = []
  /** A CR ended the last chunk: an LF starting the next one belongs to it. */
  private pendingCr = false

  /** Reads a chunk of text; returns the events it completes. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1)
    this.pendingCr = false
    this.buffer += text
    const events: ServerSentEvent[] = []
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer)
      if (!match) break
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) this.pendingCr = true
      const line = this.buffer.slice(0, match.index)
      this.buffer = this.buffer.slice(match.index + match[0].length)
      const event = this.line(line)
      if (event) events.push(event)
    }
    return events
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.event = value
    else if (field === 'id' && !value.includes('\0')) this.id = value
    return undefined
  }

  private dispatch(): ServerSentEvent | undefined {
    const data = this.data
    const event = this.event
    this.data = []
    this.event = ''
    if (data.length === 0) return undefined
    const dispatched = { id: this.id, event: event || 'message', data: data.join('\n') }
    // The standard keeps the last id across events; ours carry their own (or none: closed, shutdown, gone).
    this.id = undefined
    return dispatched
  }
}
