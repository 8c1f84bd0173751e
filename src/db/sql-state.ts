/**
 * The SQLSTATE of a database error, or of the database error a store error wraps as its cause
 * (src/db/connection-faults.ts wraps connection faults, a cancelled statement among them); undefined
 * for anything else. Our own errors' `code`s are lower-case words, never a SQLSTATE.
 */
export function sqlStateOf(error: unknown): string | undefined {
  for (const candidate of [error, (error as { cause?: unknown } | null | undefined)?.cause]) {
    const code = (candidate as { code?: unknown } | null | undefined)?.code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}
