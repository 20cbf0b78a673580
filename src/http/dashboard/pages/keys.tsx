import type { describeKey } from '../../../domain/key-description.ts'
import { providers } from '../../../mock/fake-values.ts'
import { Page, type PageProps, When } from './layout.tsx'
import { DataTable } from './table.tsx'

export type KeyView = ReturnType<typeof describeKey>
type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>

export interface KeyFilter {
  q: string
  provider: string
  tag: string
}

/** Keys: search and filter, the list (metadata only, never a value), and a form to add one. */
export function KeysPage({
  frame,
  keys,
  filter,
  tags,
}: {
  frame: Frame
  keys: KeyView[]
  filter: KeyFilter
  tags: string[]
}) {
  return (
    <Page title="Keys" section="keys" {...frame}>
      <form method="get" action="/keys" class="filters" aria-label="Filter keys">
        <div>
          <label for="q">Search</label>
          <input id="q" name="q" type="search" value={filter.q} placeholder="name or description" />
        </div>
        <div>
          <label for="provider">Provider</label>
          <select id="provider" name="provider">
            <option value="">any</option>
            {providers.map((p) => (
              <option value={p} selected={filter.provider === p}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="tag">Tag</label>
          <select id="tag" name="tag">
            <option value="">any</option>
            {tags.map((t) => (
              <option value={t} selected={filter.tag === t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      <DataTable
        label="Keys"
        columns={['Name', 'Provider', 'Tags', 'Version', 'Last used', 'Mock overrides']}
        items={keys}
        empty="No keys match."
        row={(key) => (
          <tr>
            <td>
              <a href={`/keys/${key.id}`}>{key.name}</a>
              {key.description ? <div class="muted small">{key.description}</div> : null}
            </td>
            <td>{key.provider}</td>
            <td>
              {key.tags.map((t) => (
                <span class="tag">{t}</span>
              ))}
            </td>
            <td>v{key.currentVersion}</td>
            <td>
              <When at={key.lastUsedAt} />
            </td>
            <td>
              <Overrides overrides={key.mockOverrides} />
            </td>
          </tr>
        )}
      />
      <section aria-labelledby="new-key" class="card">
        <h2 id="new-key">Add a key</h2>
        <form method="post" action="/keys" class="stacked">
          <input type="hidden" name="csrf" value={frame.csrf} />
          <label for="new-name">Name</label>
          <input id="new-name" name="name" required maxlength={128} autocomplete="off" />
          <label for="new-value">Value</label>
          <input
            id="new-value"
            name="value"
            type="password"
            required
            autocomplete="off"
            spellcheck={false}
          />
          <label for="new-provider">Provider</label>
          <select id="new-provider" name="provider">
            <option value="">detect from the value</option>
            {providers.map((p) => (
              <option value={p}>{p}</option>
            ))}
          </select>
          <label for="new-description">Description (optional)</label>
          <input id="new-description" name="description" maxlength={1000} />
          <label for="new-tags">Tags (optional, separated by spaces or commas)</label>
          <input id="new-tags" name="tags" />
          <button type="submit">Add key</button>
        </form>
      </section>
    </Page>
  )
}

export interface VersionView {
  version: number
  createdAt: string
  kek: string
}

/** One key: its metadata, reveal (after a click, hidden again after 30 s), versions, delete. */
export function KeyPage({
  frame,
  keyView,
  versions,
}: {
  frame: Frame
  keyView: KeyView
  versions: VersionView[]
}) {
  const k = keyView
  return (
    <Page title={k.name} section="keys" {...frame}>
      <p>
        <a href="/keys">All keys</a>
      </p>
      <dl class="facts card">
        <dt>Provider</dt>
        <dd>{k.provider}</dd>
        <dt>Description</dt>
        <dd>{k.description ?? <span class="muted">none</span>}</dd>
        <dt>Tags</dt>
        <dd>
          {k.tags.length === 0 ? <span class="muted">none</span> : null}
          {k.tags.map((t) => (
            <span class="tag">{t}</span>
          ))}
        </dd>
        <dt>Current version</dt>
        <dd>v{k.currentVersion}</dd>
        <dt>Last used</dt>
        <dd>
          <When at={k.lastUsedAt} />
        </dd>
        <dt>Mock overrides</dt>
        <dd>
          <Overrides overrides={k.mockOverrides} />
        </dd>
      </dl>

      <section aria-labelledby="value-title" class="card">
        <h2 id="value-title">Value</h2>
        <form method="post" action={`/keys/${k.id}/reveal`} data-reveal="revealed">
          <input type="hidden" name="csrf" value={frame.csrf} />
          <button type="submit">Reveal current value</button>
        </form>
        <div id="revealed" class="revealed" hidden>
          <code id="revealed-value" />
          <button type="button" data-copy="revealed-value">
            Copy
          </button>
          <p class="muted small" id="revealed-timer" aria-live="polite" />
        </div>
        <p class="error" role="alert" id="revealed-error" />
      </section>

      <section aria-labelledby="version-title" class="card">
        <h2 id="version-title">Add a version</h2>
        <form method="post" action={`/keys/${k.id}/versions`} class="stacked">
          <input type="hidden" name="csrf" value={frame.csrf} />
          <label for="version-value">New value</label>
          <input
            id="version-value"
            name="value"
            type="password"
            required
            autocomplete="off"
            spellcheck={false}
          />
          <button type="submit">Add version</button>
        </form>
      </section>

      <section aria-labelledby="history-title" class="card">
        <h2 id="history-title">Version history</h2>
        <DataTable
          label="Versions"
          columns={['Version', 'Created', 'Encrypted with']}
          items={versions}
          row={(v) => (
            <tr>
              <td>v{v.version}</td>
              <td>
                <When at={v.createdAt} />
              </td>
              <td>{v.kek}</td>
            </tr>
          )}
        />
      </section>

      <section aria-labelledby="delete-title" class="card danger">
        <h2 id="delete-title">Delete this key</h2>
        <p>Every version is deleted; applications reading it get 404 from then on.</p>
        <form method="post" action={`/keys/${k.id}/delete`} class="stacked">
          <input type="hidden" name="csrf" value={frame.csrf} />
          <label for="confirm-name">Type the key's name to confirm</label>
          <input id="confirm-name" name="confirm" required autocomplete="off" />
          <button type="submit" class="danger">
            Delete key
          </button>
        </form>
      </section>
    </Page>
  )
}

/** Shown once, after the reveal click, when the page's script is off. */
export function RevealedPage({
  frame,
  keyView,
  version,
  value,
}: {
  frame: Frame
  keyView: KeyView
  version: number
  value: string
}) {
  return (
    <Page title={`${keyView.name}, version ${version}`} section="keys" {...frame}>
      <div class="card revealed">
        <code id="revealed-value">{value}</code>
      </div>
      <p>
        <a href={`/keys/${keyView.id}`}>Back to the key</a>
      </p>
    </Page>
  )
}

function Overrides({ overrides }: { overrides: KeyView['mockOverrides'] }) {
  const entries = Object.entries(overrides)
  if (entries.length === 0) return <span class="muted">none</span>
  return (
    <>
      {entries.map(([env, mode]) => (
        <span class="tag">{`${env}: ${mode}`}</span>
      ))}
    </>
  )
}
