/**
 * Every value of header `name` (lower case) as sent, one per occurrence: Node joins repeated headers
 * with commas in `request.headers`, which would hide a second DPoP proof (RFC 9449 allows one).
 */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) values.push(rawHeaders[i + 1])
  return values
}
