/** Where JWKS documents come from: injected so tests never reach the network. */
export type JwksFetcher = (url: string) => Promise<unknown>

const MAX_JWKS_BYTES = 1024 * 1024

/**
 * A JwksFetcher over global fetch: refuses non-2xx answers, answers that are not JSON, and bodies
 * larger than `maxBytes`; gives up after `timeoutMs`. `traceHeaders`, with tracing on, gives the W3C
 * `traceparent` of the exchange the fetch is made for (src/tracing/).
 */
export function createHttpJwksFetcher(
  timeoutMs: number,
  maxBytes = MAX_JWKS_BYTES,
  traceHeaders?: () => Record<string, string>,
): JwksFetcher {
  return async (url) => {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { ...traceHeaders?.(), accept: 'application/jwk-set+json, application/json' },
    })
    if (!response.ok) {
      await response.body?.cancel()
      throw new Error(`GET ${url} answered HTTP ${response.status}`)
    }
    const type = response.headers.get('content-type') ?? ''
    if (!/[/+]json\b/i.test(type)) {
      await response.body?.cancel()
      throw new Error(`GET ${url} answered ${type ? `content type ${type}` : 'no content type'}, not JSON`)
    }
    return JSON.parse(await readBounded(response, maxBytes, url)) as unknown
  }
}

async function readBounded(response: Response, maxBytes: number, url: string): Promise<string> {
  const tooLarge = (): Error => new Error(`GET ${url} answered more than ${maxBytes} bytes`)
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel()
    throw tooLarge()
  }
  if (response.body === null) return ''
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
