/** A minimal server-sent events reader over fetch, for tests of the revocation stream. */
export interface SseEvent {
  id?: string
  event?: string
  data?: string
}

export interface SseConnection {
  status: number
  headers: Headers
  /** The next event, or a rejection after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent>
  close(): void
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseConnection> {
  const abort = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal })
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  const queue: SseEvent[] = []
  const readMore = async () => {
    const { value, done } = await reader.read()
    if (done) throw new Error('the stream ended')
    buffer += value
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event: SseEvent = {}
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(':')
        const value = rest.join(':').replace(/^ /, '')
        if (field === 'id' || field === 'event' || field === 'data') event[field] = value
      }
      if (event.data !== undefined) queue.push(event)
    }
  }
  return {
    status: response.status,
    headers: response.headers,
    async next(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs
      while (queue.length === 0) {
        const remaining = deadline - Date.now()
        if (remaining <= 0) throw new Error('no event in time')
        await Promise.race([readMore(), new Promise((_, reject) => setTimeout(() => reject(new Error('no event in time')), remaining))])
      }
      return queue.shift()!
    },
    close: () => abort.abort(),
  }
}
