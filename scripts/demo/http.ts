import type { CurlRequest } from './output.js'

export interface DemoResponse {
  status: number
  body: Record<string, unknown>
}

/** Makes the request `curlFor(request)` prints, over real HTTP, and reads the JSON answer. */
export async function send(request: CurlRequest): Promise<DemoResponse> {
  const headers: Record<string, string> = { ...request.headers }
  let body: string | undefined
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(request.json)
  } else if (request.form !== undefined) {
    // curl --data-urlencode sends this content type by default.
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(request.form).toString()
  }
  const response = await fetch(request.url, { method: request.method, headers, body })
  const text = await response.text()
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
}
