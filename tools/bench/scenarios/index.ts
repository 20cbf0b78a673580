import type { Scenario } from '../scenario.ts'
import { createDynamoGetItemScenario } from './dynamodb-get-item.ts'
import { createHonoHelloScenario } from './hono-hello.ts'
import { createAuthMeScenario } from './keystash-auth-me.ts'
import { readDuringJobScenario, reencryptionRateScenario } from './keystash-reencryption.ts'
import { valueReadScenario } from './keystash-value-read.ts'

/** Every scenario, in run order: the two baselines first, so every later row has its ratios. */
export function allScenarios(): Scenario[] {
  return [
    createHonoHelloScenario(),
    createDynamoGetItemScenario(),
    createAuthMeScenario(),
    valueReadScenario({
      name: 'value-strict',
      env: { KEYSTASH_RECORD_CACHE_MS: '0', KEYSTASH_DEK_CACHE_TTL_SECONDS: '0' },
      targets: [{ metric: 'rps', of: 'floor', atLeast: 0.5 }],
    }),
    valueReadScenario({
      name: 'value-dek-cache',
      env: { KEYSTASH_RECORD_CACHE_MS: '0' },
      targets: [
        { metric: 'rps', of: 'floor', atLeast: 0.8 },
        { metric: 'p99', of: 'floor', atMost: 3 },
      ],
    }),
    // The warm read path without the usage counters, against value-default (counters on).
    valueReadScenario({ name: 'value-usage-off', env: { KEYSTASH_USAGE_COUNTERS: 'off' } }),
    valueReadScenario({
      name: 'value-default',
      targets: [
        { metric: 'rps', of: 'ceiling', atLeast: 0.25 },
        { metric: 'rps', of: 'value-usage-off', atLeast: 0.9 },
      ],
    }),
    // The same warm read with a token whose status read takes its three ancestors along and
    // whose address is checked, against value-default (a token the session minted).
    valueReadScenario({
      name: 'value-descendant-cidr',
      token: 'descendantToken',
      targets: [{ metric: 'rps', of: 'value-default', atLeast: 0.9 }],
    }),
    // The same warm read path with the audit trail on, against value-default (audit off).
    valueReadScenario({
      name: 'value-audit-buffered',
      env: { KEYSTASH_AUDIT_MODE: 'buffered' },
      targets: [{ metric: 'rps', of: 'value-default', atLeast: 0.9 }],
    }),
    // Metrics collected (and served on a port of their own) and rate limits on, set above
    // the load, against value-default (both off).
    valueReadScenario({
      name: 'value-ops-on',
      env: {
        KEYSTASH_METRICS_PORT: '0',
        KEYSTASH_RATE_LIMIT_TOKEN_RPS: '1000000',
        KEYSTASH_RATE_LIMIT_ORG_RPS: '1000000',
      },
      targets: [{ metric: 'rps', of: 'value-default', atLeast: 0.9 }],
    }),
    valueReadScenario({
      name: 'value-audit-strict',
      env: { KEYSTASH_AUDIT_MODE: 'strict' },
      targets: [{ metric: 'rps', of: 'value-default', atLeast: 0.5 }],
    }),
    reencryptionRateScenario(Number(process.env.BENCH_REENCRYPT_KEYS ?? 10_000)),
    readDuringJobScenario(Number(process.env.BENCH_REENCRYPT_KEYS ?? 10_000)),
    readDuringJobScenario(Number(process.env.BENCH_REENCRYPT_KEYS ?? 10_000), 'rekey'),
  ]
}
