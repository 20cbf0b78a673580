import { createAwsClients } from '../aws.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { buildDeps } from '../deps.ts'
import { createLogger } from '../logger.ts'

/**
 * `npm run rotate-signing-key`: makes a new Ed25519 key sign every token from now on. Tokens
 * signed by the old key keep verifying until they expire: its public half stays in
 * /.well-known/jwks.json until then. Running instances pick the new key up within a minute.
 * Needs the production configuration (or the development endpoints of a running `npm start`).
 */
try {
  const config = loadConfig(process.env)
  if (!config.aws.dynamodbEndpoint && config.mode === 'development') {
    throw new ConfigError(
      'set KEYSTASH_TABLE, AWS_REGION and KEYSTASH_KMS_KEY_ID (and the endpoints for local services) to rotate a server’s signing key',
    )
  }
  const deps = buildDeps(config, createLogger({ level: 'warn' }), createAwsClients(config))
  const kid = await deps.ring.rotate()
  const { keys } = await deps.ring.jwks()
  process.stdout.write(
    `new signing key: ${kid}\npublished keys: ${keys.map((k) => k.kid).join(', ')}\n`,
  )
} catch (error) {
  process.stderr.write(
    `keystash rotate-signing-key: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
}
