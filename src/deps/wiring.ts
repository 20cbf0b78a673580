import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics/metrics.ts'

/** What the parts of the composition root (deps.ts) are built from, besides their own needs. */
export interface BaseWiring {
  doc: DynamoDBDocumentClient
  table: string
  config: Readonly<Config>
  clock: Clock
  logger: Logger
  metrics: Metrics | undefined
}
