import { Page, type PageProps } from './layout.tsx'
import { TableScroll } from './table.tsx'

type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>

export interface UsageSeries {
  id: string
  name: string
  /** Reads per day, one entry per day of `days`. */
  counts: number[]
  total: number
}

/** Reads per key and per token per day for the last 30 days: charts, and the same as tables. */
export function UsagePage({
  frame,
  days,
  keys,
  tokens,
}: {
  frame: Frame
  days: string[]
  keys: UsageSeries[]
  tokens: UsageSeries[] | undefined
}) {
  return (
    <Page
      title="Usage"
      section="usage"
      {...frame}
      scripts={['/assets/uplot.js', '/assets/usage.js']}
      styles={['/assets/uplot.css']}
    >
      <p class="muted">
        Value reads per day (UTC) over the last {days.length} days, counted by each server instance
        and written once a minute: the last minute may not be here yet.
      </p>
      <UsageSection id="key-usage" title="Reads per key" days={days} series={keys} what="key" />
      {tokens ? (
        <UsageSection
          id="token-usage"
          title="Reads per token"
          days={days}
          series={tokens}
          what="token"
        />
      ) : null}
    </Page>
  )
}

function UsageSection({
  id,
  title,
  days,
  series,
  what,
}: {
  id: string
  title: string
  days: string[]
  series: UsageSeries[]
  what: string
}) {
  const last = days.length - 1
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {series.length === 0 ? (
        <p class="muted">{`No ${what} was read in this period.`}</p>
      ) : (
        <>
          <figure class="chart-box">
            <div
              class="chart"
              data-usage={JSON.stringify({ days, series: series.slice(0, 8) })}
              aria-hidden="true"
            />
            <figcaption class="muted small">
              {`The ${Math.min(8, series.length)} most read, per day; every ${what} is in the table below.`}
            </figcaption>
          </figure>
          <TableScroll label={`${title}, totals`}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{what === 'key' ? 'Key' : 'Token'}</th>
                  <th scope="col">Today</th>
                  <th scope="col">Last 7 days</th>
                  <th scope="col">{`Last ${days.length} days`}</th>
                </tr>
              </thead>
              <tbody>
                {series.map((s) => (
                  <tr>
                    <th scope="row">{s.name}</th>
                    <td>{s.counts[last] ?? 0}</td>
                    <td>{s.counts.slice(-7).reduce((a, b) => a + b, 0)}</td>
                    <td>{s.total}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </>
      )}
    </section>
  )
}
