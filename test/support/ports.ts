import { createServer } from 'node:net'

/**
 * Shared by the tests and the bench (tsconfig.build.json compiles it): node: modules only.
 */

/** A port nobody listens on right now (the kernel's pick), for a server whose URL must be known before it listens. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
