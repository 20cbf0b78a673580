import { OpenAPIHono } from '@hono/zod-openapi'
import type { AuditLog } from './audit/service.ts'
import type { TokenIdentifier } from './audit/token-identity.ts'
import type { Authenticator } from './auth/authenticate.ts'
import type { SigningKeyRing } from './auth/signing-keys.ts'
import type { Config } from './config.ts'
import type { AccountService } from './domain/accounts.ts'
import type { DeviceLogin } from './domain/device-login.ts'
import type { EncryptionService } from './domain/encryption.ts'
import type { InvitationService } from './domain/invitations.ts'
import type { ValueReader } from './domain/key-values.ts'
import type { KeyService } from './domain/keys.ts'
import type { MemberService } from './domain/members.ts'
import type { MfaService } from './domain/mfa.ts'
import type { OrganizationService } from './domain/organizations.ts'
import type { RekeyingService } from './domain/rekeying.ts'
import type { SignupConfirmation } from './domain/signup-confirmation.ts'
import type { SsoLogin } from './domain/sso-login.ts'
import type { SsoSettingsService } from './domain/sso-settings.ts'
import type { TokenService } from './domain/tokens.ts'
import type { TokenExchange } from './domain/trust/exchange.ts'
import type { TrustRelationshipService } from './domain/trust/relationships.ts'
import type { UsageReport } from './domain/usage.ts'
import type { WebhookService } from './domain/webhooks.ts'
import { AppError } from './errors.ts'
import { allowedMethods } from './http/allowed-methods.ts'
import type { RequestAudit } from './http/audit.ts'
import { dashboardRoutes, isDashboardPath } from './http/dashboard/index.tsx'
import type { AppEnv } from './http/env.ts'
import { loggableError } from './http/log-error.ts'
import { auditRejections } from './http/middleware/audit-rejections.ts'
import { bodyGuard } from './http/middleware/body-guard.ts'
import { type IdempotencyOptions, idempotency } from './http/middleware/idempotency.ts'
import { requestContext } from './http/middleware/request-context.ts'
import { openApiDocument, registerSecuritySchemes } from './http/openapi.ts'
import { asAppError, problemResponse } from './http/problem.ts'
import { auditRoutes } from './http/routes/audit.ts'
import { authRoutes } from './http/routes/auth.ts'
import { deviceLoginRoutes } from './http/routes/device-login.ts'
import { docsRoutes } from './http/routes/docs.ts'
import { encryptionRoutes } from './http/routes/encryption.ts'
import { healthRoutes, type Probe } from './http/routes/health.ts'
import { invitationRoutes } from './http/routes/invitations.ts'
import { keyValueRoutes } from './http/routes/key-values.ts'
import { keyRoutes } from './http/routes/keys.ts'
import { meRoutes } from './http/routes/me.ts'
import { memberRoutes } from './http/routes/members.ts'
import { mfaRoutes } from './http/routes/mfa.ts'
import { mfaLoginRoutes } from './http/routes/mfa-login.ts'
import { orgRoutes } from './http/routes/org.ts'
import { ssoRoutes } from './http/routes/sso.ts'
import { ssoLoginRoutes } from './http/routes/sso-login.ts'
import { TOKEN_EXCHANGE_PATH, tokenExchangeRoutes } from './http/routes/token-exchange.ts'
import { tokenRoutes } from './http/routes/tokens.ts'
import { trustRelationshipRoutes } from './http/routes/trust-relationships.ts'
import { webhookRoutes } from './http/routes/webhooks.ts'
import { ssoCookie } from './http/sso-cookie.ts'
import type { ForegroundGauge } from './jobs/foreground.ts'
import type { Clock } from './lib/clock.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics/metrics.ts'
import { createAddressMatcher } from './net/cidr.ts'
import { valueReadEntrance } from './reads/entrance.ts'
import { createValueRead } from './reads/value-read.ts'

export interface AppDeps {
  config: Pick<Config, 'limits' | 'publicUrl' | 'auth' | 'mockGuardrails'> &
    Partial<Pick<Config, 'network'>>
  logger: Logger
  clock: Clock
  probes: Record<string, Probe>
  ring: SigningKeyRing
  authenticator: Pick<Authenticator, 'authenticate'>
  accounts: AccountService
  mfa: MfaService
  /** Token statuses cached on this instance hold the organization's policy as it was. */
  onMfaPolicyChanged?: () => void
  signupConfirmation: SignupConfirmation
  tokens: TokenService
  trustRelationships: TrustRelationshipService
  exchangeToken: TokenExchange
  organizations: OrganizationService
  members: MemberService
  invitations: InvitationService
  keyService: KeyService
  reveal: ValueReader
  encryption: EncryptionService
  rekeying: RekeyingService
  webhooks: WebhookService
  ssoSettings: SsoSettingsService
  ssoLogin: SsoLogin
  deviceLogin: DeviceLogin
  /** Where people reach the dashboard (device logins point there). */
  publicUrl: string | undefined
  audit: RequestAudit
  auditLog: AuditLog
  usageReport: UsageReport
  identifyToken: TokenIdentifier
  /** Idempotency-Key support for authenticated POSTs (see middleware/idempotency.ts). */
  idempotency?: Pick<IdempotencyOptions, 'store' | 'sealer'>
  /** True once the instance is shutting down (http/shutdown.ts): readiness fails. */
  stopping?: () => boolean
  /** Told of every request, so background jobs give way to traffic. */
  foreground?: Pick<ForegroundGauge, 'mark'>
  metrics?: Pick<Metrics, 'http'>
}

/**
 * The HTTP application: its `fetch` for the server, `request()` for tests (the same path as
 * the server's), and the Hono `routes` (for the OpenAPI document). It does no I/O of its own.
 */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>()
  const read = createValueRead(deps)
  registerSecuritySchemes(app)
  const proxies = deps.config.network?.trustedProxies ?? []
  const trustedProxies = proxies.length > 0 ? createAddressMatcher(proxies) : undefined

  app.use(
    requestContext({
      logger: deps.logger,
      trustedProxies,
      ...(deps.foreground ? { onRequest: deps.foreground.mark } : {}),
      ...(deps.metrics ? { metrics: deps.metrics.http } : {}),
    }),
  )
  app.use(auditRejections({ audit: deps.audit, identify: deps.identifyToken }))
  // The API takes JSON (and OAuth's forms on the token exchange); the dashboard's pages also
  // take their own HTML forms.
  app.use(
    bodyGuard({
      maxBytes: deps.config.limits.maxBodyBytes,
      acceptsForms: (path) => path === TOKEN_EXCHANGE_PATH || isDashboardPath(path),
    }),
  )
  if (deps.idempotency) {
    app.use('/v1/*', idempotency({ ...deps.idempotency, authenticator: deps.authenticator }))
  }

  app.route(
    '/',
    healthRoutes({ probes: deps.probes, ...(deps.stopping ? { stopping: deps.stopping } : {}) }),
  )
  app.route('/', authRoutes(deps))
  app.route('/', meRoutes(deps))
  app.route('/', mfaLoginRoutes(deps))
  app.route('/', mfaRoutes({ ...deps, onPolicyChanged: deps.onMfaPolicyChanged }))
  app.route('/', tokenRoutes(deps))
  app.route('/', tokenExchangeRoutes(deps))
  app.route('/', trustRelationshipRoutes(deps))
  app.route('/', orgRoutes(deps))
  app.route('/', memberRoutes(deps))
  app.route('/', invitationRoutes(deps))
  app.route('/', keyRoutes(deps))
  app.route('/', keyValueRoutes({ ...deps, read }))
  app.route('/', encryptionRoutes(deps))
  app.route('/', auditRoutes(deps))
  app.route('/', webhookRoutes(deps))
  app.route('/', ssoRoutes(deps))
  app.route('/', ssoLoginRoutes({ ...deps, ssoCookie: ssoCookie(deps.config) }))
  app.route('/', deviceLoginRoutes(deps))
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
  // Value reads, the request applications make most, enter before Hono dispatches them and
  // run the route's own `read()` without the middleware chain; whatever the entrance does not
  // answer (refusals, query strings, other routes) goes through Hono.
  const early = valueReadEntrance({
    read,
    logger: deps.logger,
    trustedProxies,
    ...(deps.foreground ? { onRequest: deps.foreground.mark } : {}),
    ...(deps.metrics ? { metrics: deps.metrics.http.valueRead } : {}),
  })
  const fetch = (
    request: Request,
    env?: FetchArgs[1],
    executionCtx?: FetchArgs[2],
  ): Response | Promise<Response> => {
    const answer = early(request, env)
    if (answer === undefined) return app.fetch(request, env, executionCtx)
    if (!(answer instanceof Promise)) return answer
    return answer.then((taken) => taken ?? app.fetch(request, env, executionCtx))
  }
  /** `fetch` of a Request, or of a path on http://localhost, as Hono's `app.request()`. */
  const request = async (
    input: Request | string | URL,
    init?: RequestInit,
    env?: FetchArgs[1],
    executionCtx?: FetchArgs[2],
  ): Promise<Response> => {
    if (input instanceof Request)
      return fetch(init ? new Request(input, init) : input, env, executionCtx)
    const url = String(input)
    const absolute = /^https?:\/\//.test(url)
      ? url
      : `http://localhost${url.startsWith('/') ? '' : '/'}${url}`
    return fetch(new Request(absolute, init), env, executionCtx)
  }
  return { fetch, request, routes: app }
}

type FetchArgs = Parameters<OpenAPIHono<AppEnv>['fetch']>

export type App = ReturnType<typeof createApp>
