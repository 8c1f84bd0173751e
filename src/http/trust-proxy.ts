import type { Config } from '../config.js'

/**
 * `trustProxy: true` believes X-Forwarded-For from any peer, so any client chooses the address the
 * service sees: the one the rate limits count, the ledger records, and `bindToPrivateIp` compares with
 * the instance's private IP. Said at start, loudly, with what to do instead.
 */
export function trustProxyWarnings(config: Pick<Config, 'trustProxy' | 'attestors'>): string[] {
  if (config.trustProxy !== true) return []
  const bound = config.attestors.filter((a) => a.kind === 'aws' && a.bindToPrivateIp).map((a) => a.name)
  const instead = 'set trustProxy to the addresses or CIDRs of your proxies (e.g. "10.0.0.0/8" or ["10.1.2.3", "10.1.2.4"]) instead of true'
  const warnings = [
    `trustProxy is true: any client can set X-Forwarded-For and choose the address the rate limits and the ledger see; ${instead}`,
  ]
  if (bound.length > 0) {
    warnings.push(
      `trustProxy is true and attestor(s) ${bound.join(', ')} bind to the instance's private IP (bindToPrivateIp): ` +
        `a client that can reach the service directly defeats the binding with a forged X-Forwarded-For; ${instead}`,
    )
  }
  return warnings
}
