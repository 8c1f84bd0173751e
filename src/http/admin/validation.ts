import type { z } from 'zod'
import { InvalidInputError, type FieldError } from '../../errors.js'

const NO_NUL = 'must not contain a NUL character'

/**
 * Validates admin input with its zod schema; every problem is reported at once, each with its path.
 * Before the schema, every string (and object key) is checked for NUL: Postgres cannot store one,
 * so one that got through would come back from the store as a data error. This is the one check
 * every field of every admin request shares, so it lives here rather than in each schema.
 */
export function parseOrProblem<Schema extends z.ZodType>(schema: Schema, value: unknown, what: string): z.infer<Schema> {
  const nuls = nulsIn(value ?? {}, [])
  const result = schema.safeParse(value ?? {})
  if (result.success && nuls.length === 0) return result.data
  const fallback = what === 'query' ? '(query)' : what === 'path' ? '(path)' : '(body)'
  const flagged = new Set(nuls.map((nul) => nul.path))
  const errors: FieldError[] = [
    ...nuls.map((nul) => ({ path: nul.path || fallback, message: NO_NUL })),
    ...(result.success ? [] : result.error.issues)
      .map((issue) => ({ path: issue.path.join('.') || fallback, message: issue.message }))
      // A field with a NUL in it is reported once, for the NUL.
      .filter((error) => !flagged.has(error.path)),
  ]
  throw new InvalidInputError(`the ${what} is not valid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors)
}

function nulsIn(value: unknown, path: string[]): Array<{ path: string }> {
  if (typeof value === 'string') return value.includes('\u0000') ? [{ path: path.join('.') }] : []
  if (Array.isArray(value)) return value.flatMap((item, index) => nulsIn(item, [...path, String(index)]))
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) =>
      key.includes('\u0000') ? [{ path: [...path, key].join('.') }] : nulsIn(item, [...path, key]),
    )
  }
  return []
}
