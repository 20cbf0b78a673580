import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { tableShape } from './001-table.ts'
import { tokenAncestors } from './002-token-ancestors.ts'
import { rekeySchedules } from './003-rekey-schedules.ts'
import { dueDates } from './004-due-dates.ts'
import { memberships } from './005-memberships.ts'

export interface MigrationContext {
  dynamodb: DynamoDBClient
  doc: DynamoDBDocumentClient
  table: string
  /** Progress lines for the operator (`npm run migrate` prints them). */
  log: (line: string) => void
}

/**
 * One upgrade step. `run` must be idempotent: a step interrupted half-way (or run again by a
 * second operator) finishes the job without harm, so the list can always be re-run.
 */
export interface Migration {
  /** Stable and unique, `NNN-what-it-does`; recorded in the table once applied. */
  id: string
  description: string
  /**
   * Re-checked on every run even when recorded (cheap shape checks such as the table and its
   * indexes); backfills leave it unset and run once.
   */
  always?: boolean
  /** Returns one line saying what it did (for the operator). */
  run(ctx: MigrationContext): Promise<string>
}

/**
 * Every step that brings a table written by any earlier release to the current shape, oldest
 * first. A new step goes in its own file and gets one line here, at the end.
 */
export const migrations: readonly Migration[] = [
  tableShape,
  tokenAncestors,
  rekeySchedules,
  dueDates,
  memberships,
]

export interface MigrationOutcome {
  id: string
  outcome: 'applied' | 'already applied'
  detail: string
}

/** Where a step's completion is recorded (one small item per step). */
const marker = (id: string) => ({ pk: 'SETTINGS', sk: `MIGRATION#${id}` })

/**
 * Brings `ctx.table` to the current shape: creates it when missing, then runs every step not
 * yet recorded as applied (and every `always` step). `npm run migrate`, development mode and
 * the tests' tables all go through here, so a fresh table and an upgraded one cannot differ.
 */
export async function migrateTable(
  ctx: MigrationContext,
  { steps = migrations, force = false }: { steps?: readonly Migration[]; force?: boolean } = {},
): Promise<MigrationOutcome[]> {
  const ids = new Set<string>()
  for (const step of steps) {
    if (ids.has(step.id)) throw new Error(`migration ${step.id} is listed twice`)
    ids.add(step.id)
  }
  const outcomes: MigrationOutcome[] = []
  for (const step of steps) {
    // The first step creates the table, so nothing can be read from it before that.
    const recorded = step === steps[0] ? undefined : await readMarker(ctx, step.id)
    if (recorded && !force && !step.always) {
      outcomes.push({ id: step.id, outcome: 'already applied', detail: recorded })
      continue
    }
    const detail = await step.run(ctx)
    await ctx.doc.send(
      new PutCommand({
        TableName: ctx.table,
        Item: { ...marker(step.id), appliedAt: new Date().toISOString(), detail },
      }),
    )
    ctx.log(`${step.id}: ${detail}`)
    outcomes.push({ id: step.id, outcome: 'applied', detail })
  }
  return outcomes
}

async function readMarker(ctx: MigrationContext, id: string): Promise<string | undefined> {
  const { Item } = await ctx.doc.send(
    new GetCommand({ TableName: ctx.table, Key: marker(id), ConsistentRead: true }),
  )
  return Item ? `${String(Item.appliedAt)}: ${String(Item.detail)}` : undefined
}
