import { describeSettings, keystashScenario } from '../keystash-scenario.ts'
import type { Scenario } from '../scenario.ts'

/** Authentication alone: verify the access token, check its status, describe the caller. */
export function createAuthMeScenario(env: Record<string, string> = {}): Scenario {
  return keystashScenario({
    name: 'auth-me',
    description: `GET /v1/me with an access token, real server, ${describeSettings(env)}`,
    env,
    request: (server) => ({
      url: `${server.url}/v1/me`,
      headers: { authorization: `Bearer ${server.seed.accessToken}` },
    }),
    async check(response) {
      const me = (await response.json()) as { kind?: string }
      if (me.kind !== 'access') throw new Error(`auth-me: /v1/me describes a ${me.kind}`)
    },
    targets: [{ metric: 'rps', of: 'ceiling', atLeast: 0.25 }],
  })
}
