import type { MiddlewareHandler } from 'hono'
import type { AuditLog } from '../../audit/service.ts'
import type { Authenticator } from '../../auth/authenticate.ts'
import type { Config } from '../../config.ts'
import type { AccountService } from '../../domain/accounts.ts'
import type { DeviceLogin } from '../../domain/device-login.ts'
import type { EncryptionService } from '../../domain/encryption.ts'
import type { InvitationService } from '../../domain/invitations.ts'
import type { ValueReader } from '../../domain/key-values.ts'
import type { KeyService } from '../../domain/keys.ts'
import type { MemberService } from '../../domain/members.ts'
import type { MfaService } from '../../domain/mfa.ts'
import type { OrganizationService } from '../../domain/organizations.ts'
import type { SignupConfirmation } from '../../domain/signup-confirmation.ts'
import type { SsoLogin } from '../../domain/sso-login.ts'
import type { TokenService } from '../../domain/tokens.ts'
import type { UsageReport } from '../../domain/usage.ts'
import type { Clock } from '../../lib/clock.ts'
import type { RequestAudit } from '../audit.ts'
import type { DashboardEnv } from './env.ts'
import type { SessionCookie } from './session-cookie.ts'

/** The services behind the pages: the same ones the API's routes call. */
export interface DashboardDeps {
  config: Pick<Config, 'publicUrl' | 'auth' | 'mockGuardrails'>
  clock: Clock
  authenticator: Pick<Authenticator, 'authenticate'>
  accounts: AccountService
  mfa: Pick<
    MfaService,
    | 'startTotpForChallenge'
    | 'passkeyOptionsForChallenge'
    | 'describe'
    | 'passkeyRegistrationOptions'
    | 'registerPasskey'
    | 'passkeysAvailable'
  >
  tokens: TokenService
  keyService: KeyService
  organizations: Pick<OrganizationService, 'get' | 'update'>
  encryption: Pick<EncryptionService, 'describe' | 'configure' | 'job'>
  reveal: ValueReader
  audit: RequestAudit
  auditLog: Pick<AuditLog, 'list' | 'exportEvents' | 'verify'>
  usageReport: UsageReport
  ssoLogin: SsoLogin
  deviceLogin: DeviceLogin
  members: MemberService
  invitations: InvitationService
  signupConfirmation: SignupConfirmation
}

/** What each group of pages is given besides the services. */
export interface PageKit {
  cookie: SessionCookie
  /** Headers and the same-origin check: every page and form. */
  open: MiddlewareHandler<DashboardEnv>
  /** `open` plus a verified session (and its CSRF token on posts). */
  session: MiddlewareHandler<DashboardEnv>
}
