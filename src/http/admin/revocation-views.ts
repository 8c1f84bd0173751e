import type { FastifyRequest } from 'fastify'
import { revocationToJson, type Revocation, type RevocationJson, type RevocationNotice } from '../../revocation/revocation.js'
import type { SourceHasher } from '../../tokens/source-hash.js'

/** How one caller sees revocations: whole, or as notices (the narrow role). */
export type RevocationView = (revocation: Revocation) => RevocationJson | RevocationNotice

/**
 * What the revocation routes answer with. Every view of a `source` revocation carries the keyed hash
 * of its value (`sourceHash`, as tokens carry it in `src_h`); a caller with `revocations:read` sees the
 * whole revocation, one with only `revocations:subscribe` a notice without reasons, actors or the
 * raw source id (a resource server has no business knowing node names, pod uids or account ids).
 */
export class RevocationViews {
  constructor(private readonly hasher: SourceHasher) {}

  readonly full = (revocation: Revocation): RevocationJson => {
    const { id, kind, value, ...rest } = revocationToJson(revocation)
    return kind === 'source' ? { id, kind, value, sourceHash: this.hasher.hash(value), ...rest } : { id, kind, value, ...rest }
  }

  readonly notice = (revocation: Revocation): RevocationNotice => ({
    id: revocation.id,
    kind: revocation.kind,
    ...(revocation.kind === 'source' ? { sourceHash: this.hasher.hash(revocation.value) } : { value: revocation.value }),
    createdAt: revocation.createdAt.toISOString(),
    expiresAt: revocation.expiresAt?.toISOString() ?? null,
    liftedAt: revocation.liftedAt?.toISOString() ?? null,
    cursor: String(revocation.seq),
  })

  /** The whole revocation for a caller with `revocations:read` (the bootstrap token has it), a notice otherwise. */
  forCaller(request: FastifyRequest): RevocationView {
    return request.admin?.roles.has('revocations:read') === true ? this.full : this.notice
  }

  /** Whether the caller sees only notices: what it may ask is narrower too. */
  isNarrow(request: FastifyRequest): boolean {
    return request.admin?.roles.has('revocations:read') !== true
  }
}
