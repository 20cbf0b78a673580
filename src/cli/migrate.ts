import { parseArgs } from 'node:util'
import { createAwsClients } from '../aws.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { ensurePlatformKey } from '../kms/platform-key.ts'
import { migrateTable } from '../storage/migrations/index.ts'

/**
 * `npm run migrate`: creates the Keystash table in the configured DynamoDB when it is missing,
 * then brings a table written by an earlier release to the current shape (indexes, backfills:
 * see src/storage/migrations/). Idempotent: steps already applied are recorded in the table and
 * skipped (`--force` runs them again). With `--create-platform-key` it also
 * creates the platform KMS key under the configured alias, for local KMS endpoints; on AWS,
 * create that key with your infrastructure code instead.
 */
const { values } = parseArgs({
  options: {
    'create-platform-key': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  },
})

try {
  const config = loadConfig(process.env)
  if (config.mode !== 'production') {
    throw new ConfigError(
      'migrate needs KEYSTASH_TABLE, AWS_REGION and KEYSTASH_KMS_KEY_ID (development mode creates its table by itself)',
    )
  }
  const aws = createAwsClients(config)
  const outcomes = await migrateTable(
    {
      dynamodb: aws.dynamodb,
      doc: aws.doc,
      table: config.aws.table,
      log: (line) => process.stdout.write(`${line}\n`),
    },
    { force: values.force },
  )
  const skipped = outcomes.filter((o) => o.outcome === 'already applied').length
  process.stdout.write(
    `table ${config.aws.table}: ${outcomes.length - skipped} step(s) run, ${skipped} already applied\n`,
  )
  if (values['create-platform-key']) {
    const key = await ensurePlatformKey(aws.kms, config.aws.platformKeyId)
    process.stdout.write(`platform key ${config.aws.platformKeyId}: ${key}\n`)
  }
} catch (error) {
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`keystash migrate: ${message}\n`)
  process.exit(1)
}
