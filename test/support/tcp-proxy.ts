import { createServer, Socket, type AddressInfo, type Server } from 'node:net'

/**
 * A TCP proxy in front of a real server, so a test can cut the network between the service and
 * Redis or Postgres and restore it, without touching the server itself.
 */
export interface TcpProxy {
  url(protocol: string): string
  /** Drops every open connection and refuses new ones. */
  cut(): void
  restore(): void
  /** Sends new connections to another server (a load balancer moving to another instance); open ones stay. */
  retarget(port: number): void
  /** Holds back what the server sends by `ms` from now on (0: no more), as a slow network would. */
  delay(ms: number): void
  close(): Promise<void>
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let open = true
  let delayMs = 0
  let port = targetPort
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = new Socket()
    upstream.connect(port, targetHost)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (delayMs === 0) client.write(chunk)
      else setTimeout(() => client.write(chunk), delayMs)
    })
    upstream.on('end', () => client.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const listening = (server.address() as AddressInfo).port
  const cut = () => {
    open = false
    for (const socket of sockets) socket.destroy()
  }
  return {
    url: (protocol) => `${protocol}://127.0.0.1:${listening}`,
    cut,
    restore() {
      open = true
    },
    retarget(next) {
      port = next
    },
    delay(ms) {
      delayMs = ms
    },
    close() {
      cut()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
