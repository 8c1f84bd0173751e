import { dpopTarget, poolSizeFor, signProofPool, type ProofPool } from './dpop.js'
import { driveLoad, percentile, type LoadResult, type LoadTarget } from './load.js'
import type { BenchOptions } from './options.js'
import { exchangesPerSecond, fixed, thousands } from './report.js'

/** The DPoP window of a run, beside its bearer one (BENCH_DPOP). */
export interface DpopRun {
  warmup?: LoadResult
  measured: LoadResult
  /** The proofs of the measured window. */
  pool: ProofPool
}

/**
 * Right after the bearer window, on the same service: a warm-up and a window as long as the bearer
 * ones, every exchange with a fresh proof from a pool signed before it. One exchange first, checked:
 * a bench of bearer tokens answered to proofs (a build without DPoP ignores the header) would be worthless.
 */
export async function driveDpopExchanges(
  bearer: LoadTarget,
  htu: string,
  bearerRate: number,
  options: BenchOptions,
  say: (message: string) => void,
): Promise<DpopRun> {
  const { connections } = options
  await preflightDpop(bearer, htu)
  let warmup: LoadResult | undefined
  if (options.warmupSeconds > 0) {
    const pool = signProofPool(htu, poolSizeFor(bearerRate, options.warmupSeconds, connections), connections)
    say(`DPoP warm-up: ${connections} connections, ${options.warmupSeconds} s, ${thousands(pool.size)} proofs signed beforehand`)
    warmup = await driveLoad(dpopTarget(bearer, pool), {
      connections,
      seconds: options.warmupSeconds,
      requestIdPrefix: 'bench-dpop-warmup',
    })
  }
  const pool = signProofPool(htu, poolSizeFor(bearerRate, options.seconds, connections), connections)
  say(
    `measuring DPoP: ${connections} connections, ${options.seconds} s, a fresh proof each from ${thousands(pool.size)} signed beforehand in ${fixed(pool.signingSeconds, 2)} s`,
  )
  const measured = await driveLoad(dpopTarget(bearer, pool), { connections, seconds: options.seconds, requestIdPrefix: 'bench-dpop-run' })
  say(
    `${thousands(measured.ok)} DPoP exchanges in ${fixed(measured.elapsedSeconds, 2)} s: ${thousands(exchangesPerSecond(measured))}/s` +
      (pool.signedInLoop() > 0 ? ` (${thousands(pool.signedInLoop())} proofs signed in the loop: the pool ran out)` : ''),
  )
  for (const [status, body] of measured.sampleBodies) say(`first DPoP ${status} answer: ${body}`)
  return { warmup, measured, pool }
}

/** One exchange with a proof: it must be answered with a DPoP token bound to the proof's key. */
async function preflightDpop(bearer: LoadTarget, htu: string): Promise<void> {
  const pool = signProofPool(htu, 1, 1)
  const response = await fetch(`http://${bearer.host}:${bearer.port}${bearer.path}`, {
    method: 'POST',
    headers: { 'content-type': bearer.contentType, 'x-request-id': 'bench-dpop-preflight', ...pool.headersFor(0) },
    body: bearer.bodies[0],
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`the DPoP pre-flight exchange was answered HTTP ${response.status}: ${text.slice(0, 300)}`)
  const { token_type: tokenType, access_token: token } = JSON.parse(text) as { token_type?: string; access_token?: string }
  const claims = JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url').toString()) as { cnf?: { jkt?: string } }
  if (tokenType !== 'DPoP' || claims.cnf?.jkt !== pool.thumbprints[0])
    throw new Error(
      `the DPoP pre-flight got token_type ${JSON.stringify(tokenType)}, cnf ${JSON.stringify(claims.cnf)}: not bound to the proof's key (BENCH_DPOP=0 for a build without DPoP)`,
    )
}

/** The summary's `dpop` line: the bound rate beside the bearer one of the same run, and their ratio. */
export function formatDpop(run: DpopRun, bearer: LoadResult): string {
  const m = run.measured
  const rate = exchangesPerSecond(m)
  const bearerRate = exchangesPerSecond(bearer)
  const other = [...m.otherStatuses].map(([status, count]) => `${count} x ${status}`).join(', ') || '0'
  const inLoop = run.pool.signedInLoop()
  return (
    `dpop      ${thousands(rate)} DPoP-bound exchanges/s   p50 ${fixed(percentile(m.latenciesMs, 50), 1)} ms   p99 ${fixed(percentile(m.latenciesMs, 99), 1)} ms, ` +
    `beside ${thousands(bearerRate)} bearer/s in the same run: ${fixed(rate / bearerRate, 2)}x (a fresh ES256 proof each, ` +
    `${thousands(run.pool.size)} signed by the load generator before the window${inLoop > 0 ? `, ${thousands(inLoop)} more in it` : ''}; non-200: ${other})`
  )
}
