/** A cell: null and undefined show as `-`, arrays as comma-separated lists. */
export type Cell = string | number | boolean | null | undefined | readonly string[]

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f]/g

const show = (cell: Cell): string => {
  if (cell === null || cell === undefined || cell === '') return '-'
  if (Array.isArray(cell)) return cell.length ? cell.join(',') : '-'
  // Control characters would break the layout (and could drive the terminal).
  return String(cell).replace(CONTROL, '?')
}

/** Columns padded to their widest cell, two spaces apart, no trailing spaces. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => row.map(show))]
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** A record shown as `label  value` lines. */
export function details(pairs: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length))
  return pairs
    .map(([label, value]) => `${label.padEnd(width)}  ${show(value)}`.trimEnd())
    .join('\n')
}

/** `2025-01-02T03:04:05.678Z` -> `2025-01-02 03:04 UTC`: enough to read, short enough to fit. */
export function when(iso: string | null | undefined): string | null {
  if (!iso) return null
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
