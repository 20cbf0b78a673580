import { createAwsClients } from '../aws.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { buildDeps } from '../deps.ts'
import { createLogger } from '../logger.ts'

/**
 * `npm run rotate-signing-key`: makes a new Ed25519 key sign every token from now on. Tokens
 * signed by the old key keep verifying until they expire: its public half stays in
 * /.well-known/jwks.json until then. Running instances pick the new key up within a minute.
 *
 * `npm run rotate-signing-key -- --revoke-previous` is for a key that may be compromised: the
 * older keys are revoked as well, so the JWKS drops them and every token they signed is
 * refused (`signing_key_revoked`) on every instance within the token-status staleness bound.
 * Sessions and access tokens must then be issued again.
 *
 * Needs the production configuration (or the development endpoints of a running `npm start`).
 */
try {
  const args = process.argv.slice(2)
  const unknown = args.filter((arg) => arg !== '--revoke-previous')
  if (unknown.length > 0)
    throw new ConfigError(`unknown option ${unknown[0]} (only --revoke-previous)`)
  const config = loadConfig(process.env)
  if (!config.aws.dynamodbEndpoint && config.mode === 'development') {
    throw new ConfigError(
      'set KEYSTASH_TABLE, AWS_REGION and KEYSTASH_KMS_KEY_ID (and the endpoints for local services) to rotate a server’s signing key',
    )
  }
  const deps = buildDeps(config, createLogger({ level: 'warn' }), createAwsClients(config))
  let kid: string
  let revoked: string[] = []
  if (args.includes('--revoke-previous')) ({ kid, revoked } = await deps.ring.revokePrevious())
  else kid = await deps.ring.rotate()
  const { keys } = await deps.ring.jwks()
  process.stdout.write(
    `new signing key: ${kid}\n${revoked.length > 0 ? `revoked: ${revoked.join(', ')}\n` : ''}published keys: ${keys.map((k) => k.kid).join(', ')}\n`,
  )
} catch (error) {
  process.stderr.write(
    `keystash rotate-signing-key: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
}
