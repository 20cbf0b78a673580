import { describeSettings, keystashScenario } from '../keystash-scenario.ts'
import type { Scenario, Target } from '../scenario.ts'

export interface ValueReadOptions {
  name: string
  /** Server settings, e.g. `{ KEYSTASH_AUDIT_MODE: 'buffered' }`; audit is off unless set. */
  env?: Record<string, string>
  targets?: Target[]
  /** Which seeded token reads (default: the one the session minted). */
  token?: 'accessToken' | 'descendantToken'
}

/**
 * The hot path: `GET /v1/keys/<name>/value` with a production access token, so the value is
 * live (decrypted), never mock. Counts the KMS Decrypt calls it causes.
 */
export function valueReadScenario({
  name,
  env = {},
  targets,
  token = 'accessToken',
}: ValueReadOptions): Scenario {
  const who = token === 'accessToken' ? '' : ', a CIDR-restricted token three levels down the tree'
  return keystashScenario({
    name,
    description: `GET /v1/keys/<name>/value (live), real server${who}, ${describeSettings(env)}`,
    env,
    request: (server) => ({
      url: `${server.url}/v1/keys/${server.seed.keyName}/value`,
      headers: { authorization: `Bearer ${server.seed[token]}` },
    }),
    async check(response, seed) {
      const answer = (await response.json()) as { value?: string }
      // Never print the value itself, even a bench's.
      if (answer.value !== seed.value || response.headers.get('keystash-mode') !== 'live')
        throw new Error(`${name}: the read did not return the stored live value`)
    },
    countKmsDecrypts: true,
    ...(targets ? { targets } : {}),
  })
}
