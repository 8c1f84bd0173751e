/**
 * Plain-text output: aligned columns and key/value blocks, stable and greppable. One row per line,
 * columns separated by two spaces, no trailing spaces, `-` for an empty value.
 */

export interface Column<Row> {
  header: string
  value: (row: Row) => string
  /** Longest value shown; longer ones are cut with `…`. Leave ids unlimited: they are what users copy. */
  max?: number
  /** Where to cut: `end` keeps the start; `middle` keeps both ends (a SPIFFE ID's service account is at its end). */
  cut?: 'end' | 'middle'
}

export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) =>
    columns.map((column) => truncate(printable(column.value(row)) || '-', column.max ?? Infinity, column.cut ?? 'end')),
  )
  const widths = columns.map((column, i) => Math.max(width(column.header), ...cells.map((line) => width(line[i]))))
  const lines = [columns.map((column) => column.header), ...cells].map((line) =>
    line
      .map((cell, i) => (i === line.length - 1 ? cell : cell + ' '.repeat(widths[i] - width(cell))))
      .join('  ')
      .trimEnd(),
  )
  return lines.join('\n') + '\n'
}

/** `key  value` lines, keys aligned; values are shown whole. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const keyWidth = Math.max(...fields.map(([key]) => width(key)))
  return fields.map(([key, value]) => `${key.padEnd(keyWidth)}  ${printable(value) || '-'}`.trimEnd()).join('\n') + '\n'
}

/** Cuts `value` to at most `max` characters, marking the cut with `…`. */
export function truncate(value: string, max: number, cut: 'end' | 'middle' = 'end'): string {
  const chars = [...value]
  if (chars.length <= max) return value
  if (max <= 1) return '…'
  if (cut === 'end') return chars.slice(0, max - 1).join('') + '…'
  const head = Math.ceil((max - 1) / 2)
  const tail = max - 1 - head
  return chars.slice(0, head).join('') + '…' + (tail > 0 ? chars.slice(-tail).join('') : '')
}

/**
 * Values come from the service and, before it, from whoever wrote a reason or a description:
 * untrusted. Control characters are shown escaped, so a value can neither break a row in two nor
 * send escape sequences to the responder's terminal.
 */
export function printable(value: string | null | undefined): string {
  // A field an older or newer service does not send shows as `-`, rather than stopping the output.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a terminal
  return (value ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => {
    const code = ch.charCodeAt(0)
    return code === 0x0a ? '\\n' : code === 0x09 ? '\\t' : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/** An ISO time as `2026-11-23T12:00:00Z` (to the second, UTC); `-` for none; anything else as given. */
export function formatTime(value: string | null | undefined): string {
  if (!value) return '-'
  const time = Date.parse(value)
  return Number.isNaN(time) ? value : new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** A number or a boolean as text; nothing as an empty cell. */
export function text(value: number | boolean | null | undefined): string {
  return value === null || value === undefined ? '' : String(value)
}

export function yesNo(value: boolean | undefined): string {
  return value === undefined ? '-' : value ? 'yes' : 'no'
}

/** A list as one cell: comma-separated. */
export function joined(values: readonly string[] | undefined): string {
  return (values ?? []).join(',')
}

function width(value: string): number {
  return [...value].length
}
