import { z } from 'zod'

/**
 * Configuration of one `aws` attestor, an entry of `attestors`. The options, with an example: README.md,
 * "AWS EC2 attestor".
 *
 * `maxDocumentAgeSeconds` compares the document's `pendingTime` with now. pendingTime is when the
 * instance was launched (or last started), not when the document was signed, and a document never
 * expires: the option means "only instances launched this recently", a replay defence for instances
 * that attest once at boot, not a freshness check. So it is off by default.
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
