import { z } from 'zod'

/**
 * Configuration of one `aws` attestor, an entry of `attestors` in STS_CONFIG:
 *
 * ```yaml
 * attestors:
 *   - kind: aws
 *     name: prod-aws
 *     accounts: ["111122223333"]          # required: only these accounts' instances are accepted
 *     regions: [eu-west-1, "us-*"]        # optional allow-list; exact names or globs
 *     maxDocumentAgeSeconds: 600          # optional: only instances launched in the last 10 minutes
 *     reattestation: nonce                # nonce (default) | never | always
 *     bindToPrivateIp: false              # true: only requests from the document's privateIp
 *     certificates: [keys/aws/aws-rsa2048-eu-west-1.pem]   # optional: default every keys/aws/*.pem
 * ```
 *
 * An instance identity document never expires and anyone who reads it can present it, so each
 * instance is registered on its first attestation (per attestor) and may attest again only as
 * `reattestation` says: `nonce`, the instance must repeat the nonce it sent first (as Vault's AWS auth
 * does); `never`, once per instance; `always`, no check (only with other defences, such as
 * `bindToPrivateIp` or a short `maxDocumentAgeSeconds`). `bindToPrivateIp` suits a service the
 * instances reach directly inside their VPC; behind NAT or a proxy the addresses differ.
 *
 * `maxDocumentAgeSeconds` compares the document's `pendingTime` with the current time. pendingTime is
 * when the instance was launched (or last started), not when the document was signed, and a document
 * never expires: an instance keeps presenting the same one for its whole life. So the option is off by
 * default, and setting it means "only instances launched within this time may attest", which suits
 * autoscaled instances that attest once at boot; it is a replay defence, not a freshness check.
 */

const accountId = z.string().regex(/^[0-9]{12}$/, 'must be a 12-digit AWS account id (a string, quoted in YAML)')
/** A region name (us-east-1) or a glob over region names (eu-*); `*` and `?` as in grant conditions. */
const regionPattern = z.string().regex(/^[a-z0-9*?-]{1,32}$/, 'must be a region name like eu-west-1, or a glob like eu-*')

export const AwsAttestorConfig = z
  .object({
    kind: z.literal('aws'),
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label (lowercase letters, digits, "-")'),
    /** PEM files (or directories of them) of AWS's published certificates; default: every keys/aws/*.pem shipped with the service. */
    certificates: z.array(z.string().min(1)).min(1).optional(),
    accounts: z.array(accountId).min(1, 'list the AWS accounts whose instances may attest'),
    regions: z.array(regionPattern).min(1).optional(),
    maxDocumentAgeSeconds: z.number().int().positive().optional(),
    reattestation: z.enum(['nonce', 'never', 'always']).default('nonce'),
    bindToPrivateIp: z.boolean().default(false),
  })
  .strict()

export type AwsAttestorConfig = z.infer<typeof AwsAttestorConfig>
