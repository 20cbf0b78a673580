import { ensureTable } from '../table.ts'
import type { Migration } from './index.ts'

/** The table, its `gsi1` index and its TTL setting, as the first release created them. */
export const tableShape: Migration = {
  id: '001-table',
  description: 'create the table with its gsi1 index and TTL attribute when missing',
  always: true,
  run: async (ctx) => `table ${ctx.table} ${await ensureTable(ctx.dynamodb, ctx.table)}`,
}
