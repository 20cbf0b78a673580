import { jsx } from 'hono/jsx'
import { describe, expect, it } from 'vitest'
import { DataTable } from '../../src/http/dashboard/pages/table.tsx'

const render = async (node: unknown) => String(await (node as { toString(): unknown }).toString())

const table = (items: string[], manager: boolean) =>
  render(
    DataTable({
      label: 'People',
      columns: ['Name', manager && 'Role', { hidden: 'Actions' }],
      items,
      row: (name) => jsx('tr', { 'data-name': name }, jsx('td', {}, name)),
      empty: 'Nobody yet.',
    }),
  )

describe('DataTable', () => {
  it('heads the columns shown, a hidden one for screen readers only, and a row per item', async () => {
    const html = await table(['Ada', 'Grace'], true)
    expect(html).toContain('<section class="scroll" aria-label="People" tabindex="0"><table>')
    expect(html).toContain(
      '<thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>',
    )
    expect(html).toContain(
      '<tbody><tr data-name="Ada"><td>Ada</td></tr><tr data-name="Grace"><td>Grace</td></tr></tbody>',
    )
  })

  it('leaves a column out, and says so across the columns shown when there is nothing to list', async () => {
    const html = await table([], false)
    expect(html).not.toContain('>Role<')
    expect(html).toContain('<tbody><tr><td colspan="2" class="muted">Nobody yet.</td></tr></tbody>')
  })

  it('keeps the body empty when no sentence is given for an empty list', async () => {
    const html = await render(
      DataTable({ label: 'Versions', columns: ['Version'], items: [], row: () => null }),
    )
    expect(html).toContain('<tbody></tbody>')
  })
})
