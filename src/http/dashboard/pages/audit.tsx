import type { ChainHead } from '../../../audit/chain.ts'
import type { AuditEvent } from '../../../audit/events.ts'
import type { VerifyReport } from '../../../audit/verify.ts'
import { Page, type PageProps, When } from './layout.tsx'
import { DataTable } from './table.tsx'

type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>

export interface AuditFilter {
  from: string
  to: string
  action: string
  actor: string
  target: string
}

/** The audit trail: filter, page through, export NDJSON, verify the chains. */
export function AuditPage({
  frame,
  filter,
  events,
  next,
  verified,
}: {
  frame: Frame
  filter: AuditFilter
  events: AuditEvent[]
  /** The query string of the next page, if there is one. */
  next: string | undefined
  verified?: (VerifyReport & { heads: ChainHead[] }) | undefined
}) {
  const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== '')).toString()
  return (
    <Page title="Audit trail" section="audit" {...frame}>
      <form method="get" action="/audit" class="filters" aria-label="Filter events">
        <div>
          <label for="from">From (UTC day)</label>
          <input id="from" name="from" type="date" value={filter.from} />
        </div>
        <div>
          <label for="to">To (UTC day)</label>
          <input id="to" name="to" type="date" value={filter.to} />
        </div>
        <div>
          <label for="action">Action</label>
          <input
            id="action"
            name="action"
            value={filter.action}
            placeholder="key.* or token.revoke"
          />
        </div>
        <div>
          <label for="actor">Actor id</label>
          <input id="actor" name="actor" value={filter.actor} />
        </div>
        <div>
          <label for="target">Target id</label>
          <input id="target" name="target" value={filter.target} />
        </div>
        <button type="submit">Filter</button>
      </form>
      <p class="actions">
        <a href={`/audit/export${query ? `?${query}` : ''}`}>Export these (NDJSON)</a>
        <a href={`/audit/verify${query ? `?${query}` : ''}`}>Verify the chains for this period</a>
      </p>
      {verified ? <Verification report={verified} /> : null}
      <DataTable
        label="Events"
        columns={['When', 'Action', 'Actor', 'Target', 'Outcome', 'Details']}
        items={events}
        empty="No events match."
        row={(e) => (
          <tr>
            <td>
              <When at={e.time} />
            </td>
            <td>{e.action}</td>
            <td>
              {e.actor.name ?? e.actor.type}
              {e.actor.id ? <div class="muted small">{e.actor.id}</div> : null}
            </td>
            <td>
              {e.target ? (e.target.name ?? e.target.type) : ''}
              {e.target ? <div class="muted small">{e.target.id}</div> : null}
            </td>
            <td>{e.outcome.code ? `${e.outcome.result} (${e.outcome.code})` : e.outcome.result}</td>
            <td class="small">
              {Object.entries(e.details)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ')}
            </td>
          </tr>
        )}
      />
      {next ? (
        <p>
          <a href={`/audit?${next}`}>Older events</a>
        </p>
      ) : null}
    </Page>
  )
}

function Verification({ report }: { report: VerifyReport & { heads: ChainHead[] } }) {
  const problem = report.firstProblem
  return (
    <section
      class={report.ok ? 'card' : 'card danger'}
      aria-labelledby="verify-title"
      role="status"
    >
      <h2 id="verify-title">
        {report.ok
          ? `Intact: ${report.checked} events in ${report.chains.length} chains`
          : 'Broken: the trail was changed'}
      </h2>
      {problem ? (
        <p>
          {`First problem: ${problem.kind} in chain ${problem.chainId}`}
          {problem.seq !== null ? `, position ${problem.seq}` : ''}
          {problem.eventId ? `, event ${problem.eventId}` : ''}
          {`. ${problem.detail}`}
        </p>
      ) : null}
      <h3>Chain heads to keep outside Keystash</h3>
      <DataTable
        label="Chain heads"
        columns={['Chain', 'Position', 'Hash']}
        items={report.heads}
        row={(h) => (
          <tr>
            <td>{h.chainId}</td>
            <td>{h.seq}</td>
            <td>
              <code class="hash">{h.hash}</code>
            </td>
          </tr>
        )}
      />
    </section>
  )
}
