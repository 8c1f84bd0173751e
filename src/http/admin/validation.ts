import type { z } from 'zod'
import { ValidationProblem } from '../../errors.js'

/** Validates admin input with its zod schema; every problem is reported at once, each with its path. */
export function parseOrProblem<Schema extends z.ZodType>(schema: Schema, value: unknown, what: string): z.infer<Schema> {
  const result = schema.safeParse(value ?? {})
  if (result.success) return result.data
  const errors = result.error.issues.map((issue) => ({ path: issue.path.join('.') || (what === 'query' ? '(query)' : '(body)'), message: issue.message }))
  throw new ValidationProblem(`the ${what} is not valid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors)
}
