import { isIP } from 'node:net'
import { z } from 'zod'

/**
 * The sections of the configuration about serving HTTP: `trustProxy`, `limits`, `http`, `overload` and
 * `shutdown` (src/config.ts reads them). Here rather than in src/http/, as the other sections are in
 * their concept's folder: src/http/ imports the reload service, which imports the Config type back, and
 * a section there would make a cycle of folders.
 */

/** A proxy Fastify may believe about X-Forwarded-For (proxy-addr's syntax): an address, a CIDR or a named range. */
const TrustedProxy = z
  .string()
  .refine((value) => isTrustedProxy(value.trim()), 'must be an IP address, a CIDR (10.0.0.0/8), or one of loopback, linklocal, uniquelocal')
const TrustedProxies = z.string().refine((value) => value.split(',').every((part) => isTrustedProxy(part.trim())), {
  message: 'must be a comma-separated list of IP addresses, CIDRs (10.0.0.0/8), or loopback, linklocal, uniquelocal',
})

function isTrustedProxy(value: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(value)) return true
  const [address, bits, ...rest] = value.split('/')
  const version = isIP(address ?? '')
  if (version === 0 || rest.length > 0) return false
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128))
}

/**
 * Trust `X-Forwarded-For` from the proxies in front: a list of their addresses or CIDRs (an array, or
 * one comma-separated string; `loopback`, `linklocal` and `uniquelocal` name those ranges), or
 * `true` for any peer at all, which lets every client choose the address it is seen from.
 */
export const TrustProxyConfig = z.union([z.boolean(), TrustedProxies, z.array(TrustedProxy).min(1)]).default(false)

export const LimitsConfig = z
  .object({
    maxAttestationBytes: z.number().int().positive().default(16_384),
    maxBodyBytes: z.number().int().positive().default(65_536),
    /** Token exchanges per client address per minute; 0 turns the limit off. */
    tokenRequestsPerMinute: z.number().int().nonnegative().default(6000),
    /**
     * Token exchanges per attested identity (subject) per minute, whatever addresses they come from,
     * counted once the attestation verifies; with REDIS_URL across instances. 0 turns it off.
     */
    tokenRequestsPerIdentityPerMinute: z.number().int().nonnegative().default(3000),
    /** Admin API requests per client address per minute; 0 turns the limit off. */
    adminRequestsPerMinute: z.number().int().nonnegative().default(600),
    /** Introspection requests per client address per minute; 0 turns the limit off. */
    introspectionRequestsPerMinute: z.number().int().nonnegative().default(60_000),
    /** Failed authentications (401s) per client address per minute, admin API and introspection together; 0 turns it off. */
    adminAuthFailuresPerMinute: z.number().int().nonnegative().default(20),
  })
  .strict()
  .default({
    maxAttestationBytes: 16_384,
    maxBodyBytes: 65_536,
    tokenRequestsPerMinute: 6000,
    tokenRequestsPerIdentityPerMinute: 3000,
    adminRequestsPerMinute: 600,
    introspectionRequestsPerMinute: 60_000,
    adminAuthFailuresPerMinute: 20,
  })

export const HttpConfig = z
  .object({
    /** The whole request, headers and body, must arrive within this; 0 turns it off. Responses (streams) are not bound by it. */
    requestTimeoutMs: z.number().int().nonnegative().default(30_000),
    /** The request's headers must arrive within this. */
    headersTimeoutMs: z.number().int().positive().default(10_000),
    /** An idle keep-alive connection is closed after this; above the idle timeout of a load balancer in front. */
    keepAliveTimeoutMs: z.number().int().positive().default(72_000),
  })
  .strict()
  .default({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000 })
  .refine((h) => h.requestTimeoutMs === 0 || h.headersTimeoutMs <= h.requestTimeoutMs, {
    message: 'headersTimeoutMs cannot exceed requestTimeoutMs',
    path: ['headersTimeoutMs'],
  })

/** Load shedding (src/http/overload.ts): past a bound, requests are answered 503 with Retry-After before any work. */
export const OverloadConfig = z
  .object({
    /** Mean event-loop lag over a sample, in ms; 0 turns the bound off. */
    maxEventLoopDelayMs: z.number().int().nonnegative().default(200),
    /** Event-loop utilization over a sample, 0 to 1; 0 turns the bound off (the default: see README, Overload). */
    maxEventLoopUtilization: z.number().min(0).max(1).default(0),
    /** Requests being answered at once by this process (revocation streams and health checks not counted); 0 turns it off. */
    maxRequestsInFlight: z.number().int().nonnegative().default(512),
    /** How often lag and utilization are measured. */
    sampleIntervalMs: z.number().int().min(10).max(60_000).default(1000),
    /** What a shed request is told to wait. */
    retryAfterSeconds: z.number().int().positive().max(3600).default(5),
  })
  .strict()
  .default({
    maxEventLoopDelayMs: 200,
    maxEventLoopUtilization: 0,
    maxRequestsInFlight: 512,
    sampleIntervalMs: 1000,
    retryAfterSeconds: 5,
  })

export const ShutdownConfig = z
  .object({
    /** On SIGTERM, how long requests in flight may take to finish before their connections are closed. */
    drainSeconds: z.number().positive().max(3600).default(10),
  })
  .strict()
  .default({ drainSeconds: 10 })
