import type { Child } from 'hono/jsx'

/** A wide table that scrolls sideways on narrow screens, reachable from the keyboard. */
export function TableScroll({ label, children }: { label: string; children: unknown }) {
  return (
    <section class="scroll" aria-label={label} tabindex={0}>
      {children}
    </section>
  )
}

/**
 * A column heading. `{ hidden }` is one only screen readers read (a column of buttons);
 * `false` leaves the column out (one the person's role has no use for).
 */
export type Column = string | { hidden: string } | false

/**
 * A table of `items`, one `row` each, under a heading row of `columns`, in its scroller
 * (labelled `label`). With `empty`, a list with nothing in it shows that sentence across the
 * table instead of an empty body.
 */
export function DataTable<T>({
  label,
  columns,
  items,
  row,
  empty,
}: {
  label: string
  columns: Column[]
  items: readonly T[]
  row: (item: T) => Child
  empty?: string
}) {
  const shown = columns.filter((column) => column !== false)
  return (
    <TableScroll label={label}>
      <table>
        <thead>
          <tr>
            {shown.map((column) => (
              <th scope="col">
                {typeof column === 'string' ? (
                  column
                ) : (
                  <span class="visually-hidden">{column.hidden}</span>
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.length === 0 && empty !== undefined ? (
            <tr>
              <td colspan={shown.length} class="muted">
                {empty}
              </td>
            </tr>
          ) : (
            items.map((item) => row(item))
          )}
        </tbody>
      </table>
    </TableScroll>
  )
}
