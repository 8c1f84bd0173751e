import t from 'tap'
import { formatTime, printable, renderFields, renderTable, truncate, type Column } from '../../src/cli/table.js'

interface Row {
  id: string
  name: string
  note: string
}

const COLUMNS: Column<Row>[] = [
  { header: 'ID', value: (row) => row.id },
  { header: 'NAME', value: (row) => row.name, max: 12, cut: 'middle' },
  { header: 'NOTE', value: (row) => row.note, max: 10 },
]

t.test('a table: aligned columns two spaces apart, long values cut, empty ones shown as -', async (t) => {
  const table = renderTable(COLUMNS, [
    { id: 'a1', name: 'short', note: 'fine' },
    { id: 'b2-long-id-never-cut', name: 'spiffe://example.org/ns/payments/sa/api', note: 'a note that goes on and on' },
    { id: 'c3', name: '', note: '' },
  ])
  t.equal(
    table,
    [
      'ID                    NAME          NOTE',
      'a1                    short         fine',
      'b2-long-id-never-cut  spiffe…a/api  a note th…',
      'c3                    -             -',
      '',
    ].join('\n'),
  )
})

t.test('a table with no rows is its header', async (t) => {
  t.equal(renderTable(COLUMNS, []), 'ID  NAME  NOTE\n')
})

t.test('truncate keeps the start, or both ends, and counts characters, not bytes', async (t) => {
  t.equal(truncate('abcdefghij', 10), 'abcdefghij')
  t.equal(truncate('abcdefghijk', 10), 'abcdefghi…')
  t.equal(truncate('abcdefghijk', 10, 'middle'), 'abcde…hijk')
  t.equal(truncate('ééééééé', 4), 'ééé…')
  t.equal(truncate('abc', 1), '…')
})

t.test('control characters from the service are escaped: a value cannot break a row or drive the terminal', async (t) => {
  t.equal(printable('line one\nline two\tand \u001b[31mred\u001b[0m'), 'line one\\nline two\\tand \\u001b[31mred\\u001b[0m')
  const table = renderTable(COLUMNS, [{ id: 'x', name: 'a\nb', note: 'ok' }])
  t.equal(table.split('\n').length, 3, 'header, one row, final newline')
  t.equal(renderFields([['reason', 'evil\r\nInjected: line']]), 'reason  evil\\u000d\\nInjected: line\n')
})

t.test('fields: keys aligned, values whole', async (t) => {
  t.equal(
    renderFields([
      ['id', '0b7c'],
      ['description', 'a long description that is never cut in the detail view'],
      ['scopes', ''],
    ]),
    'id           0b7c\ndescription  a long description that is never cut in the detail view\nscopes       -\n',
  )
})

t.test('times are shown to the second in UTC', async (t) => {
  t.equal(formatTime('2026-11-23T12:00:00.000Z'), '2026-11-23T12:00:00Z')
  t.equal(formatTime('2026-11-23T13:00:00+01:00'), '2026-11-23T12:00:00Z')
  t.equal(formatTime(null), '-')
  t.equal(formatTime('not a time'), 'not a time')
})
