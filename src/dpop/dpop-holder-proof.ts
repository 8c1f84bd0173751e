import { InvalidDpopProofError, InvalidRequestError } from '../errors.js'
import type { HolderKeyProof, HolderRequest } from '../revocation/holder-revocation.js'
import type { DpopProofVerifier } from './dpop-proof.js'

/**
 * The proof that the holder of a DPoP-bound token revoking it (RFC 7009) holds its key too: a DPoP
 * proof made for the revocation endpoint (its own verifier checks `htu` against that URL), with `ath`
 * the token's hash, signed by the key the token is bound to. Single-use like every proof.
 */
export class DpopHolderKeyProof implements HolderKeyProof {
  constructor(private readonly verifier: DpopProofVerifier) {}

  async verify(request: HolderRequest, jkt: string): Promise<void> {
    const proof = await this.verifier.verify(request.dpopProofs, request.method, { accessToken: request.token })
    if (proof === undefined) {
      throw new InvalidRequestError(
        'the token is bound to a key (cnf.jkt): send a DPoP proof made with that key for this endpoint, with ath the hash of the token',
        'holder_key_proof_required',
      )
    }
    if (proof.jkt !== jkt) throw new InvalidDpopProofError('the DPoP proof is made with another key than the one the token is bound to')
  }
}
