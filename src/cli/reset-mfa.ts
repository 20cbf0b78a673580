import { createAwsClients } from '../aws.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { buildDeps } from '../deps.ts'
import { normalizeEmail } from '../domain/accounts.ts'
import { resetSecondFactor } from '../domain/mfa-reset.ts'
import { createLogger } from '../logger.ts'

/**
 * `npm run reset-mfa -- <email>`: the operator's break-glass for a person who lost their
 * authenticator and their recovery codes. Every second factor of that person is removed; they
 * sign in with their password alone (and, where their organization requires a factor, are taken
 * to set up a new one). The reset is recorded in the organization's audit trail.
 *
 * Whoever runs this vouches for the person's identity: the server cannot check it. Needs the
 * production configuration (or the development endpoints of a running `npm start`).
 */
try {
  const args = process.argv.slice(2)
  if (args.length !== 1 || !args[0] || args[0].startsWith('-')) {
    throw new ConfigError('usage: npm run reset-mfa -- <email>')
  }
  const config = loadConfig(process.env)
  if (!config.aws.dynamodbEndpoint && config.mode === 'development') {
    throw new ConfigError(
      'set KEYSTASH_TABLE, AWS_REGION and KEYSTASH_KMS_KEY_ID (and the endpoints for local services) to reset a person’s second factor',
    )
  }
  const deps = buildDeps(config, createLogger({ level: 'warn' }), createAwsClients(config))
  const outcome = await resetSecondFactor(deps, normalizeEmail(args[0]))
  await deps.audit.close()
  if (!outcome) throw new ConfigError(`no account has the e-mail address ${args[0]}`)
  process.stdout.write(
    outcome.had
      ? `second factor removed for ${outcome.email} (${outcome.userId}); recorded in the audit trail\n`
      : `${outcome.email} (${outcome.userId}) had no second factor; nothing removed, recorded in the audit trail\n`,
  )
  process.exit(0)
} catch (error) {
  process.stderr.write(
    `keystash reset-mfa: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
}
