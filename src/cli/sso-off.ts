import { createAwsClients } from '../aws.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { buildDeps } from '../deps.ts'
import { createLogger } from '../logger.ts'

/**
 * `npm run sso-off -- <organization id>`: break-glass for an organization that requires single
 * sign-on and has lost its identity provider. It turns "SSO required" off, so members can sign
 * in with their passwords again (and an owner can then repair or remove the settings); the
 * rest of the settings and every linked identity stay. The audit trail records it as the
 * operator's act (`sso.required.clear`).
 *
 * Deciding that the request is genuine (that the person asking speaks for the organization)
 * is the operator's responsibility: nothing here can check it.
 *
 * Needs the production configuration (or the development endpoints of a running `npm start`).
 */
try {
  const args = process.argv.slice(2)
  const [tenantId, ...rest] = args
  if (!tenantId || rest.length > 0 || !/^org_[0-9a-z]{26}$/.test(tenantId)) {
    throw new ConfigError('usage: npm run sso-off -- <organization id (org_...)>')
  }
  const config = loadConfig({ ...process.env, KEYSTASH_AUDIT_WRITER: 'inline' })
  if (!config.aws.dynamodbEndpoint && config.mode === 'development') {
    throw new ConfigError(
      'set KEYSTASH_TABLE, AWS_REGION and KEYSTASH_KMS_KEY_ID (and the endpoints for local services) to change a server’s organizations',
    )
  }
  const deps = buildDeps(config, createLogger({ level: 'warn' }), createAwsClients(config))
  const cleared = await deps.ssoSettings.clearRequiredByOperator(tenantId)
  await deps.audit.close()
  if (!cleared) {
    process.stderr.write(`keystash sso-off: ${tenantId} has no single sign-on settings\n`)
    process.exit(1)
  }
  process.stdout.write(
    `single sign-on is no longer required for ${tenantId}: members may sign in with their passwords again\n`,
  )
} catch (error) {
  process.stderr.write(
    `keystash sso-off: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
}
