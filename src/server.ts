import { holdHangUps } from './lib/hang-ups.js'

/**
 * The server's entry point. Before anything else is loaded, SIGHUP is held (src/lib/hang-ups.ts):
 * loading the service's modules and reading its configuration take hundreds of milliseconds on a busy
 * node, and a SIGHUP meanwhile must not end the process (Node's default). Then the service itself:
 * src/server-main.ts, imported only now.
 */
const hangUps = holdHangUps()
const { serve } = await import('./server-main.js')
await serve(hangUps)
