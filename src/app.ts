import { OpenAPIHono } from '@hono/zod-openapi'
import type { AuditLog } from './audit/service.ts'
import type { TokenIdentifier } from './audit/token-identity.ts'
import type { Authenticator } from './auth/authenticate.ts'
import type { Clock } from './auth/clock.ts'
import type { SigningKeyRing } from './auth/signing-keys.ts'
import type { Config } from './config.ts'
import type { AccountService } from './domain/accounts.ts'
import type { EncryptionService } from './domain/encryption.ts'
import type { ValueReader } from './domain/key-values.ts'
import type { KeyService } from './domain/keys.ts'
import type { OrganizationService } from './domain/organizations.ts'
import type { TokenService } from './domain/tokens.ts'
import type { UsageReport } from './domain/usage.ts'
import { AppError } from './errors.ts'
import { allowedMethods } from './http/allowed-methods.ts'
import type { RequestAudit } from './http/audit.ts'
import { dashboardRoutes, isDashboardPath } from './http/dashboard/index.tsx'
import type { AppEnv } from './http/env.ts'
import { fastValueRead } from './http/fast-value-read.ts'
import { loggableError } from './http/log-error.ts'
import { auditRejections } from './http/middleware/audit-rejections.ts'
import { bodyGuard } from './http/middleware/body-guard.ts'
import { type IdempotencyOptions, idempotency } from './http/middleware/idempotency.ts'
import { requestContext } from './http/middleware/request-context.ts'
import { openApiDocument, registerSecuritySchemes } from './http/openapi.ts'
import { asAppError, problemResponse } from './http/problem.ts'
import { auditRoutes } from './http/routes/audit.ts'
import { authRoutes } from './http/routes/auth.ts'
import { docsRoutes } from './http/routes/docs.ts'
import { encryptionRoutes } from './http/routes/encryption.ts'
import { healthRoutes, type Probe } from './http/routes/health.ts'
import { keyRoutes } from './http/routes/keys.ts'
import { meRoutes } from './http/routes/me.ts'
import { orgRoutes } from './http/routes/org.ts'
import { tokenRoutes } from './http/routes/tokens.ts'
import type { ForegroundGauge } from './jobs/foreground.ts'
import type { Logger } from './logger.ts'

export interface AppDeps {
  config: Pick<Config, 'limits' | 'publicUrl' | 'auth' | 'mockGuardrails'>
  logger: Logger
  clock: Clock
  probes: Record<string, Probe>
  ring: SigningKeyRing
  authenticator: Pick<Authenticator, 'authenticate' | 'authenticateCached'>
  accounts: AccountService
  tokens: TokenService
  organizations: OrganizationService
  keyService: KeyService
  reveal: ValueReader
  encryption: EncryptionService
  audit: RequestAudit
  auditLog: AuditLog
  usageReport: UsageReport
  identifyToken: TokenIdentifier
  /** Idempotency-Key support for authenticated POSTs (see middleware/idempotency.ts). */
  idempotency?: Pick<IdempotencyOptions, 'store' | 'sealer'>
  /** Told of every request, so background jobs give way to traffic. */
  foreground?: Pick<ForegroundGauge, 'mark'>
}

/** The HTTP application. It does no I/O of its own: tests call `app.request()` on it. */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>()
  registerSecuritySchemes(app)

  app.use(
    requestContext({
      logger: deps.logger,
      ...(deps.foreground ? { onRequest: deps.foreground.mark } : {}),
    }),
  )
  app.use(auditRejections({ audit: deps.audit, identify: deps.identifyToken }))
  // The API takes JSON; the dashboard's pages also take their own HTML forms.
  app.use(bodyGuard({ maxBytes: deps.config.limits.maxBodyBytes, acceptsForms: isDashboardPath }))
  if (deps.idempotency) {
    app.use('/v1/*', idempotency({ ...deps.idempotency, authenticator: deps.authenticator }))
  }

  app.route('/', healthRoutes({ probes: deps.probes }))
  app.route('/', authRoutes(deps))
  app.route('/', meRoutes(deps))
  app.route('/', tokenRoutes(deps))
  app.route('/', orgRoutes(deps))
  app.route('/', keyRoutes(deps))
  app.route('/', encryptionRoutes(deps))
  app.route('/', auditRoutes(deps))
  app.route('/', docsRoutes())
  app.route('/', dashboardRoutes(deps))
  app.get('/openapi.json', (c) => c.json(openApiDocument(app)))

  const allowed = allowedMethods(app)
  app.notFound((c) => {
    const methods = allowed(c.req.path)
    if (methods.length === 0 || methods.includes(c.req.method)) {
      return problemResponse(c, new AppError('not_found', 'No such route.'))
    }
    return problemResponse(
      c,
      new AppError('method_not_allowed', `${c.req.method} is not allowed here.`, {
        extra: { allow: methods },
        headers: { allow: methods.join(', ') },
      }),
    )
  })
  app.onError((error, c) => {
    const appError = asAppError(error)
    if (appError.code === 'internal')
      c.get('log')?.error({ error: loggableError(error) }, 'unhandled error')
    return problemResponse(c, appError)
  })
  // Warm value reads are answered before Hono dispatches them (see http/fast-value-read.ts);
  // everything else, and every read it declines, takes the routed path. On the instance, so
  // that `app.request()` in tests goes the same way as the server.
  const fastRead = fastValueRead({
    authenticator: deps.authenticator,
    reveal: deps.reveal,
    audit: deps.audit,
    logger: deps.logger,
    ...(deps.foreground ? { onRequest: deps.foreground.mark } : {}),
  })
  const routed = app.fetch
  app.fetch = (request, env, executionCtx) => {
    const answer = fastRead(request, env)
    if (answer === undefined) return routed(request, env, executionCtx)
    if (!(answer instanceof Promise)) return answer
    return answer.then((fast) => fast ?? routed(request, env, executionCtx))
  }
  return app
}

export type App = ReturnType<typeof createApp>
