import type { AuditEvent } from '../../../audit/events.ts'
import type { KeyView } from './keys.tsx'
import { Page, type PageProps, When } from './layout.tsx'
import { TableScroll } from './table.tsx'
import { RevokeButton, type TokenView } from './tokens.tsx'

type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>

export interface Review {
  /** Overdue for replacement, or expiring at the provider within 30 days. */
  keysDue: { key: KeyView; overdue: boolean }[]
  staleKeys: { days: number; keys: KeyView[] }[]
  staleTokens: { days: number; tokens: TokenView[] }[]
  expiringTokens: TokenView[]
  denied: AuditEvent[]
}

/** "Review access": what to clean up, each with its action one click away. */
export function OverviewPage({ frame, review }: { frame: Frame; review: Review }) {
  const csrf = frame.csrf ?? ''
  return (
    <Page title="Review access" section="overview" {...frame}>
      {review.staleTokens.map(({ days, tokens }) => (
        <section class="card" aria-labelledby={`tokens-${days}`}>
          <h2 id={`tokens-${days}`}>{`Tokens not used for ${days} days (${tokens.length})`}</h2>
          {tokens.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul class="review">
              {tokens.map((t) => (
                <li>
                  <span>
                    <strong>{t.name ?? t.id}</strong> · last used <When at={t.lastUsedAt} />
                  </span>
                  <RevokeButton token={t} csrf={csrf} />
                </li>
              ))}
            </ul>
          )}
        </section>
      ))}
      <section class="card" aria-labelledby="expiring">
        <h2 id="expiring">{`Tokens expiring within 7 days (${review.expiringTokens.length})`}</h2>
        {review.expiringTokens.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul class="review">
            {review.expiringTokens.map((t) => (
              <li>
                <span>
                  <strong>{t.name ?? t.id}</strong> · expires <When at={t.expiresAt} />
                </span>
                <a href="/tokens#mint-title">Mint a replacement</a>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="card" aria-labelledby="keys-due">
        <h2 id="keys-due">{`Keys to replace at the provider (${review.keysDue.length})`}</h2>
        {review.keysDue.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul class="review">
            {review.keysDue.map(({ key: k, overdue }) => (
              <li>
                <span>
                  <strong>{k.name}</strong>
                  {overdue ? (
                    <>
                      {' · replacement due '}
                      <When at={k.rotationDueAt} />
                    </>
                  ) : (
                    <>
                      {' · expires '}
                      <When at={k.expiresAt} />
                    </>
                  )}
                </span>
                <a href={`/keys/${k.id}#version-title`}>{`Add a new version of ${k.name}`}</a>
              </li>
            ))}
          </ul>
        )}
      </section>
      {review.staleKeys.map(({ days, keys }) => (
        <section class="card" aria-labelledby={`keys-${days}`}>
          <h2 id={`keys-${days}`}>{`Keys not used for ${days} days (${keys.length})`}</h2>
          {keys.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul class="review">
              {keys.map((k) => (
                <li>
                  <span>
                    <strong>{k.name}</strong> · last used <When at={k.lastUsedAt} />
                  </span>
                  <a href={`/keys/${k.id}#delete-title`}>{`Review or delete ${k.name}`}</a>
                </li>
              ))}
            </ul>
          )}
        </section>
      ))}
      <section class="card" aria-labelledby="denied">
        <h2 id="denied">{`Denied requests in the last 7 days (${review.denied.length})`}</h2>
        {review.denied.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <TableScroll label="Denied requests">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Action</th>
                  <th scope="col">Who</th>
                  <th scope="col">Target</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {review.denied.map((e) => (
                  <tr>
                    <td>
                      <When at={e.time} />
                    </td>
                    <td>{e.action}</td>
                    <td>{e.actor.name ?? e.actor.id ?? e.actor.type}</td>
                    <td>{e.target ? (e.target.name ?? e.target.id) : ''}</td>
                    <td>
                      <code>{e.outcome.code}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </Page>
  )
}
