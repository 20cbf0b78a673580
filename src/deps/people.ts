import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { AuditRecorder } from '../audit/writer.ts'
import { relyingPartyOf } from '../auth/passkeys.ts'
import type { SigningKeyRing } from '../auth/signing-keys.ts'
import { createTotpSeedSealer } from '../auth/totp-seed-sealer.ts'
import type { Config } from '../config.ts'
import { createAccountService } from '../domain/accounts.ts'
import { createDeviceLogin } from '../domain/device-login.ts'
import { createInvitationService } from '../domain/invitations.ts'
import { createMemberTokens } from '../domain/member-tokens.ts'
import { createMemberWebhooks } from '../domain/member-webhooks.ts'
import { createMemberService } from '../domain/members.ts'
import { createMfaService } from '../domain/mfa.ts'
import { createPasskeyFactor } from '../domain/passkey-factor.ts'
import { createSessionIssuer } from '../domain/session-issuer.ts'
import { createSignupConfirmation } from '../domain/signup-confirmation.ts'
import { createSsoLogin, passwordLoginCheck } from '../domain/sso-login.ts'
import {
  createSsoSettingsService,
  type ResolveTxt,
  systemResolveTxt,
} from '../domain/sso-settings.ts'
import type { KeyProvider } from '../kms/key-provider.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { Mailer } from '../mail/mailer.ts'
import type { OutboundFetch } from '../net/outbound.ts'
import { createSsoMembers } from '../sso/account-members.ts'
import { createClientSecretSealer } from '../sso/client-secret.ts'
import { createOidcClient } from '../sso/oidc-client.ts'
import type { AccountRepository } from '../storage/accounts.ts'
import { createDeviceLoginRepository } from '../storage/device-logins.ts'
import { createInvitationRepository } from '../storage/invitations.ts'
import { createLoginThrottle } from '../storage/login-throttle.ts'
import type { MemberRepository } from '../storage/members.ts'
import { createMfaRepository } from '../storage/mfa.ts'
import { createPasskeyRepository } from '../storage/passkeys.ts'
import { createPendingSignupStore } from '../storage/signups.ts'
import { createSsoRepository } from '../storage/sso.ts'
import type { TokenRepository } from '../storage/tokens.ts'
import type { WebhookRepository } from '../storage/webhooks.ts'

export interface PeopleWiring {
  doc: DynamoDBDocumentClient
  table: string
  config: Readonly<Config>
  clock: Clock
  logger: Logger
  ring: SigningKeyRing
  platformKek: KeyProvider
  accounts: AccountRepository
  members: MemberRepository
  tokens: TokenRepository
  webhooks: WebhookRepository
  audit: AuditRecorder
  /** Every request to an identity provider goes through it (net/outbound.ts). */
  outbound: OutboundFetch
  mailer: Mailer
  resolveTxt: ResolveTxt | undefined
  /** This instance revoked a token: its cached status goes at once. */
  onRevoked: (tenantId: string, tokenId: string) => void
  /** Memberships or policies changed: every cached token status goes (sessions hold roles). */
  onChanged: () => void
}

/**
 * People, wired (part of the composition root, deps.ts): sign-up, login with its second
 * factor, single sign-on, device login, members and their roles, invitations.
 */
export function buildPeople(w: PeopleWiring) {
  const { doc, table, config, clock, logger, ring, accounts, members, tokens } = w
  const throttle = createLoginThrottle({ doc, table, clock })
  // A second factor belongs to the person; its seed is sealed under the platform key.
  const mfa = createMfaService({
    mfa: createMfaRepository({ doc, table }),
    accounts,
    sealer: createTotpSeedSealer(w.platformKek),
    // The relying party is the public URL's host: links and origins never come from `Host`.
    passkeys: createPasskeyFactor({
      passkeys: createPasskeyRepository({ doc, table }),
      rp: relyingPartyOf(config.publicUrl),
      clock,
    }),
    throttle,
    members,
    clock,
    issuer: config.publicUrl ? `Keystash (${new URL(config.publicUrl).host})` : 'Keystash',
  })
  const ssoRepository = createSsoRepository({ doc, table })
  const accountService = createAccountService({
    accounts,
    members,
    tokens,
    throttle,
    ring,
    config,
    clock,
    logger,
    onRevoked: w.onRevoked,
    // "SSO required": the organization a password login would open refuses passwords.
    passwordAllowed: passwordLoginCheck(ssoRepository),
    mfa,
  })

  // Single sign-on: each organization's OpenID provider, reached through the outbound module.
  const sessions = createSessionIssuer({ tokens, ring, config, clock })
  const ssoSecrets = createClientSecretSealer(w.platformKek)
  const oidcClient = createOidcClient({
    fetch: w.outbound,
    // The outbound module decides which plain-http issuers may be reached; this only lets
    // openid-client make the request the module then vets.
    allowHttp: !config.outbound.production || config.outbound.allowLocal,
    clock,
  })
  const ssoMembers = createSsoMembers({ accounts, members, sso: ssoRepository })
  const publicUrl = publicUrlOf(config)

  return {
    accounts: accountService,
    mfa,
    signupConfirmation: createSignupConfirmation({
      accounts: accountService,
      users: accounts,
      pending: createPendingSignupStore({ doc, table }),
      mailer: w.mailer,
      config,
      clock,
      logger,
    }),
    sessions,
    publicUrl,
    deviceLogin: createDeviceLogin({
      logins: createDeviceLoginRepository({ doc, table }),
      sessions,
      clock,
      options: config.auth.device,
    }),
    ssoLogin: createSsoLogin({
      sso: ssoRepository,
      sealer: ssoSecrets,
      oidc: oidcClient,
      members: ssoMembers,
      accounts,
      sessions,
      publicUrl,
      clock,
    }),
    ssoSettings: createSsoSettingsService({
      sso: ssoRepository,
      sealer: ssoSecrets,
      oidc: oidcClient,
      members: ssoMembers,
      resolveTxt: w.resolveTxt ?? systemResolveTxt,
      audit: w.audit,
      clock,
    }),
    ssoRepository,
    /** People and their roles; `addMember` also serves SSO's just-in-time provisioning. */
    members: createMemberService({
      members,
      memberTokens: createMemberTokens({ tokens, clock, onRevoked: w.onRevoked }),
      memberWebhooks: createMemberWebhooks({ webhooks: w.webhooks, clock }),
      clock,
      // Which sessions a person holds is not kept in memory: forget every status.
      onChanged: w.onChanged,
    }),
    invitations: createInvitationService({
      invitations: createInvitationRepository({ doc, table }),
      members,
      accounts,
      mailer: w.mailer,
      config,
      clock,
      logger,
      onChanged: w.onChanged,
    }),
  }
}

/**
 * Where browsers reach this server: `KEYSTASH_PUBLIC_URL`, or in development the address it
 * listens on. Production without a public URL has none (single sign-on then cannot start).
 */
export function publicUrlOf(config: Pick<Config, 'publicUrl' | 'mode' | 'host' | 'port'>) {
  if (config.publicUrl) return config.publicUrl
  if (config.mode === 'production') return undefined
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`
}
