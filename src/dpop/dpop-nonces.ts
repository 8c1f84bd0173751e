import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../lib/clock.js'

/**
 * DPoP server nonces (RFC 9449 section 8) without any state: a nonce is the time step it was made in
 * and an HMAC of that step under a key every instance derives from the deployment's shared secret, so
 * a nonce one instance hands out is accepted by all of them, and no store is asked. The current and
 * the previous step are accepted, so a nonce handed out just before a step ends still works.
 */
export class DpopNonces {
  private readonly stepMs: number

  constructor(
    private readonly key: Buffer,
    lifetimeSeconds: number,
    private readonly clock: Clock,
  ) {
    if (key.length < 32) throw new TypeError('a DPoP nonce key is at least 32 bytes')
    this.stepMs = lifetimeSeconds * 1000
  }

  /** The nonce to hand out now: `<step>.<mac>`, base64url, within the `NQCHAR` set RFC 9449 allows. */
  current(): string {
    return this.nonceFor(this.step())
  }

  /** Whether `nonce` was made in this step or the one before, by this deployment. */
  accepts(nonce: string): boolean {
    const now = this.step()
    return [now, now - 1].some((step) => same(nonce, this.nonceFor(step)))
  }

  private step(): number {
    return Math.floor(this.clock.now() / this.stepMs)
  }

  private nonceFor(step: number): string {
    const mac = createHmac('sha256', this.key).update(`dpop-nonce:${step}`).digest('base64url')
    return `${step.toString(36)}.${mac}`
  }
}

/**
 * The nonce key, derived from the deployment's shared secret (the source hash key, which every
 * instance sharing a database must have: src/config/config-schema.ts) so no second secret is needed,
 * and bound to its purpose so it never equals a key used for anything else.
 */
export function dpopNonceKey(sharedSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', sharedSecret, Buffer.alloc(0), 'seed-sts dpop nonce key', 32))
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
