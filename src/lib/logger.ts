import { pino, type Logger } from 'pino'

/**
 * Paths that may hold a secret anywhere we log an object. Tokens, attestations, private keys and the
 * admin token are never written out, whatever a future log line passes in.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'subject_token',
  'actor_token',
  'access_token',
  'token',
  'adminToken',
  'privateKey',
  'password',
  '*.subject_token',
  '*.actor_token',
  '*.access_token',
  '*.token',
  '*.adminToken',
  '*.privateKey',
  '*.password',
]

export function createLogger(level: string, destination?: { write(line: string): unknown }): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        // Only the path: a query string could carry a token someone put in the wrong place.
        req: (req: { method?: string; url?: string; id?: string; ip?: string }) => ({
          method: req.method,
          path: req.url?.split('?')[0],
          id: req.id,
          remoteAddress: req.ip,
        }),
      },
    },
    destination,
  )
}
