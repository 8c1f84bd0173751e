import { createHash, timingSafeEqual } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import { InvalidGrantError, ServiceUnavailableError } from '../errors.js'

/**
 * How an attested instance may attest again:
 * - `nonce`: the first attestation registers the nonce the instance chose; every later one must bring
 *   the same nonce (a copied document without it gets nothing, and a thief who registers first locks
 *   the real instance out, which is loud);
 * - `never`: one attestation per instance, ever;
 * - `always`: no binding (the document alone suffices: only with other defences).
 */
export type ReattestationMode = 'nonce' | 'never' | 'always'

export interface RegistrationRequest {
  /** The attestor's name: registrations are per attestor. */
  attestor: string
  /** E.g. the EC2 instance id. */
  instance: string
  nonce?: string
  mode: ReattestationMode
  clientAddress: string
  now: Date
}

const MIN_NONCE_LENGTH = 16

/** Registrations in Postgres (or PGlite), one row per instance, updated under a row lock. */
export class InstanceRegistrations {
  constructor(private readonly db: Queryable & { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> }) {}

  /** Registers a first attestation or checks a later one; throws InvalidGrantError when refused. */
  async admit(request: RegistrationRequest): Promise<void> {
    if (request.mode === 'nonce' && (request.nonce === undefined || request.nonce.length < MIN_NONCE_LENGTH)) {
      throw new InvalidGrantError(`a nonce of at least ${MIN_NONCE_LENGTH} characters is required: the instance keeps it, and must present it again at every attestation`)
    }
    const nonceHash = request.nonce === undefined ? null : sha256(request.nonce)
    let refusal: string | undefined
    try {
      await this.db.transaction(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO instance_registrations (attestor, instance, nonce_sha256, first_seen, last_seen, last_address)
           VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT DO NOTHING RETURNING instance`,
          [request.attestor, request.instance, request.mode === 'nonce' ? nonceHash : null, request.now, request.clientAddress],
        )
        if (inserted.length > 0) return
        const [row] = await tx.query<{ nonce_sha256: string | null }>(
          'SELECT nonce_sha256 FROM instance_registrations WHERE attestor = $1 AND instance = $2 FOR UPDATE',
          [request.attestor, request.instance],
        )
        refusal = refusalFor(request, row?.nonce_sha256 ?? null, nonceHash)
        if (refusal) return
        await tx.query(
          'UPDATE instance_registrations SET last_seen = $3, last_address = $4, attestations = attestations + 1 WHERE attestor = $1 AND instance = $2',
          [request.attestor, request.instance, request.now, request.clientAddress],
        )
      })
    } catch (error) {
      throw new ServiceUnavailableError('instance registrations cannot be checked', error)
    }
    if (refusal) throw new InvalidGrantError(refusal)
  }

  /** Forgets an instance, so it can register afresh (after a legitimate loss of its nonce). */
  async forget(attestor: string, instance: string): Promise<boolean> {
    try {
      return (await this.db.query('DELETE FROM instance_registrations WHERE attestor = $1 AND instance = $2 RETURNING instance', [attestor, instance])).length > 0
    } catch (error) {
      throw new ServiceUnavailableError('instance registrations cannot be changed', error)
    }
  }
}

function refusalFor(request: RegistrationRequest, registered: string | null, presented: string | null): string | undefined {
  const instance = `instance ${request.instance}`
  if (request.mode === 'always') return undefined
  if (request.mode === 'never') return `${instance} has attested already, and this attestor allows one attestation per instance`
  if (registered === null || presented === null || !timingSafeEqual(Buffer.from(registered, 'hex'), Buffer.from(presented, 'hex'))) {
    return `${instance} is registered with another nonce: this document may be a copy (if the instance lost its nonce, an operator must forget its registration)`
  }
  return undefined
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}
