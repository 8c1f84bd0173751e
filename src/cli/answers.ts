import { ApiError, type Problem } from './errors.js'

/** Reading the admin API's answers: JSON or not, a problem or a result, a fetch that failed. */

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** A field of an answer we did not write: its text if it is text, its JSON otherwise. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value)
}

/** The answer's problem details; a proxy's HTML error page or an empty body still gets a useful line. */
export function problemOf(json: unknown, response: Response): Problem {
  const body = isObject(json) ? json : {}
  const detail =
    typeof body.detail === 'string' && body.detail !== '' ? body.detail : typeof body.title === 'string' ? body.title : undefined
  const errors = Array.isArray(body.errors)
    ? body.errors.filter(isObject).map((e) => ({ path: textOf(e.path), message: textOf(e.message) }))
    : undefined
  return {
    ...(typeof body.type === 'string' ? { type: body.type } : {}),
    ...(typeof body.title === 'string' ? { title: body.title } : {}),
    status: response.status,
    detail: detail ?? `the service answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
    ...(typeof body.instance === 'string' ? { instance: body.instance } : {}),
    ...(errors && errors.length > 0 ? { errors } : {}),
  }
}

export function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s`
  }
  const cause = error instanceof Error ? error.cause : undefined
  // The fetch standard's blocked ports (1, 25, 6000...) are refused before any connection is tried.
  if (cause instanceof Error && cause.message === 'bad port') return 'fetch refuses to connect to this port: it is on the blocked-port list'
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return typeof code === 'string' && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message
  }
  return error instanceof Error ? error.message : String(error)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The service is trusted to answer its own contract; this only stops an unrelated JSON answer from being printed as empty. */
export function objectOf<T>(json: unknown, key?: string): T {
  if (!isObject(json) || (key !== undefined && !isObject(json[key]))) {
    throw new ApiError({ status: 200, detail: `the service answered JSON that is not ${key ? `an object with "${key}"` : 'an object'}` })
  }
  return json as T
}

export function listOf<T>(json: unknown, key: string): T {
  if (!isObject(json) || !Array.isArray(json[key])) {
    throw new ApiError({ status: 200, detail: `the service answered JSON without a "${key}" list` })
  }
  return json as T
}
