import { ENVIRONMENTS } from '../../../auth/principal.ts'
import type { Environment, Guardrail } from '../../../config.ts'
import { guardrailVariable, type ModeResolution } from '../../../mock/resolve-mode.ts'
import type { KeyView } from './keys.tsx'
import { Page, type PageProps } from './layout.tsx'
import { TableScroll } from './table.tsx'

type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>
type Mode = 'mock' | 'live'

const GUARDRAIL_TEXT: Record<Guardrail, string> = {
  none: 'none',
  'force-mock': 'always mock',
  'force-live': 'always live',
  'forbid-mock': 'never mock',
}

/** Mock mode: the server's guardrails (read-only), the organization's defaults, key overrides. */
export function EnvironmentsPage({
  frame,
  guardrails,
  defaults,
  effective,
  keys,
}: {
  frame: Frame
  guardrails: Readonly<Record<Environment, Guardrail>>
  defaults: Record<Environment, Mode>
  /** What a key without an override answers in each environment, and why. */
  effective: Record<Environment, ModeResolution>
  keys: KeyView[]
}) {
  const csrf = frame.csrf ?? ''
  return (
    <Page title="Environments and mock mode" section="environments" {...frame}>
      <p>
        A token's environment decides whether a read returns the live value or a realistic fake.
        First match wins: the server's guardrail, then the key's override, then the organization's
        default.
      </p>
      <section class="card" aria-labelledby="defaults-title">
        <h2 id="defaults-title">Defaults</h2>
        <form method="post" action="/environments">
          <input type="hidden" name="csrf" value={csrf} />
          <TableScroll label="Defaults per environment">
            <table>
              <thead>
                <tr>
                  <th scope="col">Environment</th>
                  <th scope="col">Server guardrail (read-only)</th>
                  <th scope="col">Organization default</th>
                  <th scope="col">Keys without an override get</th>
                </tr>
              </thead>
              <tbody>
                {ENVIRONMENTS.map((env) => (
                  <tr>
                    <th scope="row">{env}</th>
                    <td>
                      {GUARDRAIL_TEXT[guardrails[env]]}
                      <div class="muted small">
                        set by <code>{guardrailVariable(env)}</code>
                      </div>
                    </td>
                    <td>
                      <label class="visually-hidden" for={`default-${env}`}>
                        {`Default for ${env}`}
                      </label>
                      <select id={`default-${env}`} name={env}>
                        {(['mock', 'live'] as const).map((mode) => (
                          <option value={mode} selected={defaults[env] === mode}>
                            {mode}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>
                      <strong>{effective[env].effective}</strong>
                      <span class="muted small">{` (${effective[env].source.replace('_', ' ')})`}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          <button type="submit">Save defaults</button>
        </form>
      </section>
      <section class="card" aria-labelledby="overrides-title">
        <h2 id="overrides-title">Key overrides</h2>
        {keys.length === 0 ? <p class="muted">No keys yet.</p> : null}
        {keys.map((key) => (
          <form method="post" action={`/keys/${key.id}/mock`} class="override">
            <input type="hidden" name="csrf" value={csrf} />
            <fieldset>
              <legend>{key.name}</legend>
              {ENVIRONMENTS.map((env) => (
                <span class="pick">
                  <label for={`o-${key.id}-${env}`}>{env}</label>
                  <select id={`o-${key.id}-${env}`} name={env}>
                    <option value="" selected={!key.mockOverrides[env]}>
                      default
                    </option>
                    {(['mock', 'live'] as const).map((mode) => (
                      <option value={mode} selected={key.mockOverrides[env] === mode}>
                        {mode}
                      </option>
                    ))}
                  </select>
                </span>
              ))}
              <button type="submit" aria-label={`Save overrides of ${key.name}`}>
                Save
              </button>
            </fieldset>
          </form>
        ))}
      </section>
    </Page>
  )
}
