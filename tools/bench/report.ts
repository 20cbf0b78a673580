import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Baseline, Measurement } from './scenario.ts'
import type { TargetResult, TargetSummary } from './targets.ts'

export interface ResultRow extends Measurement {
  scenario: string
  baseline?: Baseline
  concurrency: number
  /** Which round of BENCH_ROUNDS measured it (absent when there is one). */
  round?: number
  /** rps / the ceiling's rps at the same concurrency. */
  ofCeiling?: number
  /** rps / the floor's rps at the same concurrency. */
  ofFloor?: number
}

export interface BenchReport {
  startedAt: string
  finishedAt: string
  settings: { seconds: number; warmupSeconds: number; concurrencies: number[]; rounds: number }
  machine: Record<string, unknown>
  results: ResultRow[]
  targets?: TargetResult[]
  /** With BENCH_ROUNDS > 1: each target's ratios over the rounds and their median. */
  summaries?: TargetSummary[]
}

export function withRatios(rows: ResultRow[]): ResultRow[] {
  const rpsOf = (baseline: Baseline, concurrency: number) =>
    rows.find((row) => row.baseline === baseline && row.concurrency === concurrency)?.rps
  return rows.map((row) => {
    const ceiling = rpsOf('ceiling', row.concurrency)
    const floor = rpsOf('floor', row.concurrency)
    return {
      ...row,
      ofCeiling: ceiling ? row.rps / ceiling : undefined,
      ofFloor: floor ? row.rps / floor : undefined,
    }
  })
}

// Share of a core per process, in this order: load generator, server, JVM, local KMS, and
// everything else on the machine.
const cpuRoles = [
  { role: 'bench', title: 'bench' },
  { role: 'server', title: 'srv' },
  { role: 'dynamodb', title: 'jvm' },
  { role: 'kms', title: 'kms' },
  { role: 'other', title: 'other' },
]

const columns: { title: string; cell: (row: ResultRow) => string; left?: boolean }[] = [
  {
    title: 'scenario',
    cell: (row) => row.scenario + (row.baseline ? ` (${row.baseline})` : ''),
    left: true,
  },
  { title: 'conc', cell: (row) => String(row.concurrency) },
  { title: 'req/s', cell: (row) => Math.round(row.rps).toLocaleString('en-US') },
  { title: 'p50 ms', cell: (row) => milliseconds(row.p50) },
  { title: 'p99 ms', cell: (row) => milliseconds(row.p99) },
  { title: 'errors', cell: (row) => String(row.errors) },
  { title: 'x of ceiling', cell: (row) => ratio(row.ofCeiling) },
  { title: 'x of floor', cell: (row) => ratio(row.ofFloor) },
  { title: 'KMS dec/1k', cell: (row) => perThousand(row.kmsDecryptsPer1k) },
  { title: `CPU % ${cpuRoles.map((role) => role.title).join('/')}`, cell: (row) => cpuCell(row) },
]

export function formatTable(rows: ResultRow[]): string {
  const cells = rows.map((row) => columns.map((column) => column.cell(row)))
  const widths = columns.map((column, index) =>
    Math.max(column.title.length, ...cells.map((line) => line[index]?.length ?? 0)),
  )
  const render = (values: string[]) =>
    values
      .map((value, index) => {
        const width = widths[index] ?? 0
        return columns[index]?.left ? value.padEnd(width) : value.padStart(width)
      })
      .join('  ')
  const header = render(columns.map((column) => column.title))
  return [header, '-'.repeat(header.length), ...cells.map(render)].join('\n')
}

/** Writes `bench-<ISO time>.json` (colons made dashes, for every file system) and returns its path. */
export async function writeReport(directory: string, report: BenchReport): Promise<string> {
  await mkdir(directory, { recursive: true })
  const path = join(directory, `bench-${report.startedAt.replaceAll(':', '-')}.json`)
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`)
  return path
}

function milliseconds(value: number): string {
  if (!Number.isFinite(value)) return '-'
  return value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1)
}

function ratio(value: number | undefined): string {
  if (value === undefined) return '-'
  return `${value.toFixed(value < 0.1 ? 3 : 2)}x`
}

function perThousand(value: number | undefined): string {
  if (value === undefined) return '-'
  return Number.isFinite(value) ? value.toFixed(1) : '-'
}

function cpuCell(row: ResultRow): string {
  if (!row.cpu) return '-'
  return cpuRoles
    .map(({ role }) => {
      const share = row.cpu?.[role]
      return share === undefined ? '-' : String(Math.round(share * 100))
    })
    .join('/')
}
