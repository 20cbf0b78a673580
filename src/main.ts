import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { getRequestListener, serve } from '@hono/node-server'
import { createApp } from './app.ts'
import { createAwsClients } from './aws.ts'
import { type Config, ConfigError, loadConfig } from './config.ts'
import { buildDeps } from './deps.ts'
import { coalesceWrites } from './http/coalesced-writes.ts'
import { metricsEndpoint } from './http/metrics-endpoint.ts'
import { gracefulShutdown } from './http/shutdown.ts'
import { createLogger, type Logger } from './logger.ts'
import type { Metrics } from './metrics/metrics.ts'

// The AWS SDK announces at every start that its 2027 releases will need Node 22; Keystash pins
// an SDK release that supports Node 20 (see package-lock.json), so the notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

/** load config -> (development: start local services) -> build deps -> serve */
async function main(): Promise<void> {
  let config: Readonly<Config>
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message)
    throw error
  }
  const logger = createLogger({ level: config.logLevel })
  const stops: Array<() => Promise<void>> = []

  let services: Awaited<ReturnType<typeof startLocalServices>> | undefined
  if (config.mode === 'development') {
    services = await startLocalServices(resolve(config.dataDir), logger)
    stops.push(services.stop)
    config = loadConfig({
      ...process.env,
      KEYSTASH_DYNAMODB_ENDPOINT: services.dynamodbEndpoint,
      KEYSTASH_KMS_ENDPOINT: services.kmsEndpoint,
    })
  }
  const aws = createAwsClients(config)
  if (services) {
    const started = services
    await started.prepare(aws, config).catch(async (error: unknown) => {
      await started.stop()
      throw error
    })
  }
  const deps = buildDeps(config, logger, aws)
  const lifecycle = gracefulShutdown({ ...config.shutdown, logger })
  const app = createApp({ ...deps, stopping: lifecycle.stopping })
  // Re-encryption jobs left unfinished by any instance resume here (see jobs/job-runner.ts).
  deps.reencryption.start()
  deps.rekeyTicker?.start()
  deps.rateExchange.start()
  deps.usage.start()
  // Events waiting in the outbox (from any instance, or from before a restart) go out from here.
  deps.outbox.start()
  deps.reminders.start()
  const metricsServer =
    config.metrics && deps.metrics && serveMetrics(config.metrics, deps.metrics, logger)
  // The request listener is wrapped so that shutdown can answer late requests on old connections.
  const server = createServer(
    lifecycle.wrap(getRequestListener(app.fetch, { hostname: config.host })),
  )
  server.listen(config.port, config.host, () => {
    const info = server.address() as AddressInfo
    const base = `http://${info.address === '0.0.0.0' ? '127.0.0.1' : info.address}:${info.port}`
    const lines = [
      '',
      `  Keystash is running (${config.mode} mode)`,
      `  API:   ${base}`,
      `  Docs:  ${base}/docs`,
      ...(config.metrics
        ? [`  Metrics: http://${config.metrics.host}:${config.metrics.port}/metrics`]
        : []),
      ...(config.mode === 'development'
        ? [
            `  Data:  ${resolve(config.dataDir)}`,
            `  Mail:  ${mailDestination(config.mail.smtpUrl)}`,
            '  Stop:  Ctrl-C',
            '',
          ]
        : ['']),
    ]
    process.stdout.write(`${lines.join('\n')}\n`)
  })
  coalesceWrites(server)

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    // Readiness fails from here on; see http/shutdown.ts for the phases and their bounds.
    await lifecycle.shutdown(server)
    metricsServer?.close()
    await deps.rekeyTicker?.stop()
    await deps.reencryption.stop({ release: true })
    await deps.rateExchange.stop()
    await deps.reminders.stop()
    await deps.outbox.stop()
    await deps.usage.stop()
    // Requests have finished: write the audit events they buffered before the process ends.
    await deps.audit.close().catch((error: unknown) => {
      logger.error({ error: (error as Error).message }, 'audit events lost at shutdown')
    })
    for (const stop of stops.reverse()) await stop().catch(() => {})
    logger.info('stopped')
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

/**
 * The Prometheus endpoint on its own port. A port already taken (another development server
 * on this machine) costs the metrics, not the server.
 */
function serveMetrics(settings: NonNullable<Config['metrics']>, metrics: Metrics, logger: Logger) {
  const server = serve({
    fetch: metricsEndpoint({ metrics, token: settings.token }).fetch,
    port: settings.port,
    hostname: settings.host,
  })
  server.on('error', (error: NodeJS.ErrnoException) => {
    logger.warn({ port: settings.port, code: error.code }, 'metrics listener not started')
  })
  return server
}

/** Development mode: DynamoDB Local and the local KMS as child processes, data under dataDir. */
async function startLocalServices(dataDir: string, logger: Logger) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // Development-only code is loaded only in development mode.
  const { startDevServices } = await import('../tools/dev-services.ts')
  return startDevServices({ dataDir, logger }).catch((error: unknown) => {
    if (error instanceof Error && error.name === 'JavaMissingError') fail(error.message)
    throw error
  })
}

function fail(message: string): never {
  process.stderr.write(`keystash: ${message}\n`)
  process.exit(1)
}

await main()

/** Where mail goes, for the start-up banner: the SMTP server's address, never its credentials. */
function mailDestination(smtpUrl: string | undefined): string {
  if (!smtpUrl) {
    return 'none (set KEYSTASH_SMTP_URL); invitation links are shown to the inviter'
  }
  const url = new URL(smtpUrl)
  return `${url.protocol}//${url.host} (from KEYSTASH_SMTP_URL)`
}
