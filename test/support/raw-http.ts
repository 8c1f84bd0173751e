import { connect, type Socket } from 'node:net'

/**
 * One HTTP/1.1 connection driven by hand, for what fetch cannot do: keep a connection alive across
 * a server's shutdown, send half a body, or send it a byte at a time.
 */
export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export interface RawConnection {
  socket: Socket
  /** Writes a whole request and reads one response (Content-Length framed). */
  request(text: string): Promise<RawResponse>
  write(text: string): void
  /** Resolves when the server closes the connection, with what it sent since the last response. */
  closed: Promise<string>
}

export async function openRaw(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  socket.on('error', () => {})
  let buffer = ''
  let wake: (() => void) | undefined
  socket.on('data', (chunk) => {
    buffer += chunk.toString('latin1')
    wake?.()
  })
  const closed = new Promise<string>((resolve) => socket.once('close', () => (wake?.(), resolve(buffer))))
  const responses = async (): Promise<RawResponse> => {
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n')
      if (end >= 0) {
        const [statusLine, ...lines] = buffer.slice(0, end).split('\r\n')
        const headers = Object.fromEntries(
          lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
        )
        const length = Number(headers['content-length'] ?? 0)
        if (buffer.length >= end + 4 + length) {
          const body = buffer.slice(end + 4, end + 4 + length)
          buffer = buffer.slice(end + 4 + length)
          return { status: Number(statusLine.split(' ')[1]), headers, body }
        }
      }
      if (socket.destroyed || socket.readableEnded)
        throw new Error(`the connection closed before a whole response: ${JSON.stringify(buffer)}`)
      await new Promise<void>((resolve) => (wake = resolve))
    }
  }
  return {
    socket,
    request(text) {
      socket.write(text)
      return responses()
    },
    write: (text) => socket.write(text),
    closed,
  }
}

/** The text of a request with a body; `Connection` is left to HTTP/1.1's default, keep-alive. */
export function httpRequest(method: string, path: string, headers: Record<string, string>, body = ''): string {
  const all = { host: 'sts.test', ...headers, ...(body || method === 'POST' ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')}\r\n\r\n${body}`
}
