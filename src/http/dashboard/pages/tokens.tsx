import { ENVIRONMENTS } from '../../../auth/principal.ts'
import { SCOPES } from '../../../auth/scopes.ts'
import type { describeToken } from '../../../domain/tokens.ts'
import { Page, type PageProps, When } from './layout.tsx'
import { DataTable } from './table.tsx'

export type TokenView = ReturnType<typeof describeToken>
type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>

/** Lifetimes offered when minting, within the server's maximum. */
export const LIFETIMES: { seconds: number; label: string }[] = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: 7 * 86400, label: '7 days' },
  { seconds: 30 * 86400, label: '30 days' },
  { seconds: 90 * 86400, label: '90 days' },
  { seconds: 365 * 86400, label: '1 year' },
]

/** Tokens: list (never the strings), filter by unused, revoke, and mint. */
export function TokensPage({
  frame,
  tokens,
  unusedDays,
  maxLifetimeSeconds,
}: {
  frame: Frame
  tokens: TokenView[]
  unusedDays: number | undefined
  maxLifetimeSeconds: number
}) {
  return (
    <Page title="Tokens" section="tokens" {...frame}>
      <form method="get" action="/tokens" class="filters" aria-label="Filter tokens">
        <div>
          <label for="unused">Show</label>
          <select id="unused" name="unused">
            <option value="">all tokens</option>
            {[30, 90].map((days) => (
              <option value={String(days)} selected={unusedDays === days}>
                {`unused for ${days} days`}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      <TokenTable tokens={tokens} csrf={frame.csrf ?? ''} />
      <section aria-labelledby="mint-title" class="card">
        <h2 id="mint-title">Mint a token</h2>
        <form method="post" action="/tokens" class="stacked">
          <input type="hidden" name="csrf" value={frame.csrf} />
          <label for="token-name">Name</label>
          <input id="token-name" name="name" required maxlength={100} />
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((scope) => (
              <label class="check">
                <input
                  type="checkbox"
                  name="scopes"
                  value={scope}
                  checked={scope === 'keys:read'}
                />
                {scope}
              </label>
            ))}
          </fieldset>
          <label for="token-keys">Keys (optional: names or ids, a trailing * for a prefix)</label>
          <input id="token-keys" name="keys" autocomplete="off" />
          <label for="token-environment">Environment</label>
          <select id="token-environment" name="environment">
            {ENVIRONMENTS.map((env) => (
              <option value={env} selected={env === 'production'}>
                {env}
              </option>
            ))}
          </select>
          <label for="token-lifetime">Expires in</label>
          <select id="token-lifetime" name="expiresIn">
            {LIFETIMES.filter((l) => l.seconds <= maxLifetimeSeconds).map((l) => (
              <option value={String(l.seconds)} selected={l.seconds === 30 * 86400}>
                {l.label}
              </option>
            ))}
          </select>
          <button type="submit">Mint token</button>
        </form>
      </section>
    </Page>
  )
}

export function TokenTable({ tokens, csrf }: { tokens: TokenView[]; csrf: string }) {
  return (
    <DataTable
      label="Tokens"
      columns={[
        'Name',
        'Scopes',
        'Keys',
        'Environment',
        'Expires',
        'Last used',
        'Created by',
        { hidden: 'Action' },
      ]}
      items={tokens}
      empty="No tokens match."
      row={(t) => (
        <tr>
          <td>{t.name ?? <span class="muted">unnamed</span>}</td>
          <td>
            {t.scopes.map((s) => (
              <span class="tag">{s}</span>
            ))}
          </td>
          <td>{t.keys ? t.keys.join(', ') : <span class="muted">all keys</span>}</td>
          <td>{t.environment ?? ''}</td>
          <td>
            <When at={t.expiresAt} />
          </td>
          <td>
            <When at={t.lastUsedAt} />
          </td>
          <td>{`${t.createdBy.type} ${t.createdBy.id}`}</td>
          <td>
            {t.revokedAt ? (
              <span class="muted">revoked</span>
            ) : (
              <RevokeButton token={t} csrf={csrf} />
            )}
          </td>
        </tr>
      )}
    />
  )
}

export function RevokeButton({ token, csrf }: { token: TokenView; csrf: string }) {
  return (
    <form method="post" action={`/tokens/${token.id}/revoke`} class="inline">
      <input type="hidden" name="csrf" value={csrf} />
      <button type="submit" class="danger" aria-label={`Revoke ${token.name ?? token.id}`}>
        Revoke
      </button>
    </form>
  )
}

/** The token string, on the one page that ever shows it. */
export function MintedPage({
  frame,
  token,
  value,
}: {
  frame: Frame
  token: TokenView
  value: string
}) {
  return (
    <Page title="Token created" section="tokens" {...frame}>
      <div class="card">
        <p>
          Copy the token for <strong>{token.name}</strong> now: it is not stored and will not be
          shown again.
        </p>
        <div class="revealed">
          <code id="minted-token">{value}</code>
          <button type="button" data-copy="minted-token">
            Copy
          </button>
        </div>
      </div>
      <p>
        <a href="/tokens">Back to tokens</a>
      </p>
    </Page>
  )
}
