/**
 * Markdown for the API description, written as an indented template literal beside the schema or
 * route it describes: the common indentation and the blank first and last lines are removed, and the
 * text ends with one newline, as a block of openapi.yaml does.
 *
 * @example
 * prose`
 *   Creates a grant.
 *   Recorded on the audit log.
 * ` // 'Creates a grant.\nRecorded on the audit log.\n'
 */
export function prose(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((joined, part, i) => `${joined}${String(values[i - 1])}${part}`)
  const lines = text
    .replace(/^\n/, '')
    .replace(/\n[ ]*$/, '')
    .split('\n')
  const indent = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => line.length - line.trimStart().length))
  return `${lines.map((line) => line.slice(indent)).join('\n')}\n`
}
