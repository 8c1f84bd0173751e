/**
 * Whether a proof's `htu` names `endpoint`, compared as RFC 9449 section 4.3 says: query and fragment
 * ignored, after syntax- and scheme-based normalization (RFC 3986 sections 6.2.2 and 6.2.3): scheme
 * and host in lower case, the default port left out, an empty path as `/`, dot segments removed
 * (the WHATWG URL parser does these), and percent-encodings with upper-case hex digits.
 */
export function sameHtu(htu: string, endpoint: string): boolean {
  const claimed = normalized(htu)
  return claimed !== undefined && claimed === normalized(endpoint)
}

function normalized(uri: string): string | undefined {
  if (!URL.canParse(uri)) return undefined
  const url = new URL(uri)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  if (url.username !== '' || url.password !== '') return undefined
  const path = url.pathname.replace(/%[0-9a-fA-F]{2}/g, (escape) => escape.toUpperCase())
  return `${url.protocol}//${url.host}${path}`
}
