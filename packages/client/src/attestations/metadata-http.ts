import { AttestationError } from './attestation.js'

/** The fetch the attestations use: globalThis.fetch by default, a stand-in in tests. */
export type Fetch = typeof globalThis.fetch

export interface MetadataRequest {
  /** Names the endpoint in messages: "the AWS instance metadata service". */
  what: string
  url: string | URL
  method?: 'GET' | 'PUT'
  headers?: Record<string, string>
  signal: AbortSignal
  /** Per request; metadata services answer in milliseconds, a hung one must not stall a refresh. */
  timeoutMs?: number
}

export interface MetadataResponse {
  status: number
  body: string
}

const DEFAULT_TIMEOUT_MS = 5_000

/**
 * Calls a metadata endpoint (IMDS, the GCE metadata server, GitHub's token service) and returns its
 * answer. No answer, or a 429 or 5xx, is a retryable AttestationError; any other status is returned
 * for the caller to judge (AWS answers 401 to an expired session token, which is not a failure).
 */
export async function callMetadata(fetch: Fetch, request: MetadataRequest): Promise<MetadataResponse> {
  const signal = AbortSignal.any([request.signal, AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS)])
  let response: Response
  let body: string
  try {
    response = await fetch(request.url, {
      method: request.method ?? 'GET',
      ...(request.headers ? { headers: request.headers } : {}),
      redirect: 'error',
      signal,
    })
    body = await response.text()
  } catch (error) {
    throw new AttestationError(`${request.what} did not answer: ${describe(error)}`, true, { cause: error })
  }
  if (response.status === 429 || response.status >= 500) {
    throw new AttestationError(`${request.what} answered ${response.status}`, true)
  }
  return { status: response.status, body }
}

/** The answer's body when it is 200; otherwise an AttestationError that quotes a little of it. */
export function expectOk(what: string, response: MetadataResponse): string {
  if (response.status === 200) return response.body
  // Metadata services answer errors in plain text or small JSON; never a secret of ours.
  const excerpt = response.body.trim().slice(0, 200)
  throw new AttestationError(`${what} answered ${response.status}${excerpt === '' ? '' : `: ${excerpt}`}`, false)
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
    return `${error.message}${cause}`
  }
  return String(error)
}
