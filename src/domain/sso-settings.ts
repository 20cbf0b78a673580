import { randomBytes } from 'node:crypto'
import { promises as dns } from 'node:dns'
import { SUCCESS } from '../audit/events.ts'
import type { AuditRecorder } from '../audit/writer.ts'
import type { Principal } from '../auth/principal.ts'
import { requireOwner as requireOwnerRole } from '../auth/roles.ts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import type { ClientSecretSealer } from '../sso/client-secret.ts'
import type { SsoMembers } from '../sso/members.ts'
import type { OidcClient } from '../sso/oidc-client.ts'
import type { SsoConfigRecord, SsoDomain, SsoRepository } from '../storage/sso.ts'

/** How TXT records are read; tests inject a stub, production asks the system's resolver. */
export type ResolveTxt = (name: string) => Promise<string[][]>
export const systemResolveTxt: ResolveTxt = (name) => dns.resolveTxt(name)

/** The TXT record that proves an organization controls a domain. */
export const challengeName = (domain: string) => `_keystash-challenge.${domain}`
const challengeValue = (challenge: string) => `keystash-verification=${challenge}`

const DOMAIN = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/

/** What an owner sees: never the client secret, only that one is set. */
export function describeSso(record: SsoConfigRecord) {
  return {
    issuer: record.issuer,
    clientId: record.clientId,
    clientSecretSet: true,
    defaultRole: record.defaultRole,
    required: record.required,
    domains: record.domains.map(describeDomain),
    updatedAt: record.updatedAt,
  }
}

export function describeDomain(domain: SsoDomain) {
  return {
    domain: domain.domain,
    verified: domain.verifiedAt !== undefined,
    verifiedAt: domain.verifiedAt ?? null,
    txtName: challengeName(domain.domain),
    txtValue: challengeValue(domain.challenge),
  }
}

export interface SsoSettingsDeps {
  sso: SsoRepository
  sealer: ClientSecretSealer
  oidc: Pick<OidcClient, 'discover' | 'forget'>
  members: Pick<SsoMembers, 'roles'>
  resolveTxt: ResolveTxt
  audit: Pick<AuditRecorder, 'record'>
  clock: Clock
}

/**
 * An organization's single sign-on settings, changed by its owners only (people signed in,
 * never access tokens). The issuer is discovered before anything is stored, through the
 * outbound-request module, so a typo or a refused address fails here and not at the next
 * sign-in.
 */
export function createSsoSettingsService(deps: SsoSettingsDeps) {
  const { sso, sealer, oidc, members, clock } = deps

  /** Owners only, through their session (the role read at this request). */
  async function requireOwner(principal: Principal): Promise<string> {
    requireOwnerRole(principal)
    if (!principal.userId)
      throw new AppError('session_required', 'Only an owner’s session can do this.')
    return principal.userId
  }

  async function load(tenantId: string): Promise<SsoConfigRecord> {
    const record = await sso.getConfig(tenantId)
    if (!record)
      throw new AppError('sso_not_configured', 'This organization has no single sign-on.')
    return record
  }

  return {
    async describe(principal: Principal) {
      await requireOwner(principal)
      return describeSso(await load(principal.tenantId))
    },

    /**
     * Creates or replaces the settings. The client secret is required the first time and when
     * the issuer or client changes; otherwise the sealed one is kept.
     */
    async configure(
      principal: Principal,
      input: {
        issuer: string
        clientId: string
        clientSecret?: string | undefined
        defaultRole: string
        required: boolean
      },
    ) {
      const userId = await requireOwner(principal)
      const tenantId = principal.tenantId
      if (!members.roles.includes(input.defaultRole)) {
        throw new AppError(
          'validation_failed',
          `defaultRole must be one of: ${members.roles.join(', ')}`,
          {
            extra: { errors: [{ field: 'defaultRole', message: 'unknown role' }] },
          },
        )
      }
      const issuer = normalizeIssuer(input.issuer)
      const previous = await sso.getConfig(tenantId)
      const sameClient =
        previous !== undefined && previous.issuer === issuer && previous.clientId === input.clientId
      let secret = input.clientSecret
      if (secret === undefined) {
        if (!previous || !sameClient) {
          throw new AppError(
            'validation_failed',
            'clientSecret is required for a new issuer or client id.',
            { extra: { errors: [{ field: 'clientSecret', message: 'required' }] } },
          )
        }
        secret = await sealer.open(tenantId, previous.secretVersion, previous.sealedSecret)
      }
      await oidc.discover({ issuer, clientId: input.clientId, clientSecret: secret })
      const secretVersion = (previous?.secretVersion ?? 0) + 1
      const record: SsoConfigRecord = {
        tenantId,
        issuer,
        clientId: input.clientId,
        secretVersion,
        sealedSecret: await sealer.seal(tenantId, secretVersion, secret),
        defaultRole: input.defaultRole,
        required: input.required,
        domains: previous?.domains ?? [],
        updatedAt: new Date(clock.now()).toISOString(),
        updatedBy: userId,
      }
      await sso.putConfig(record)
      oidc.forget()
      return describeSso(record)
    },

    async remove(principal: Principal) {
      await requireOwner(principal)
      if (!(await sso.deleteConfig(principal.tenantId))) {
        throw new AppError('sso_not_configured', 'This organization has no single sign-on.')
      }
      oidc.forget()
    },

    /**
     * Break-glass, for the operator (`npm run sso-off`), when the provider is lost and nobody
     * can sign in: turns "SSO required" off so that members' passwords work again. Audited
     * as the system's act; the rest of the settings stay.
     */
    async clearRequiredByOperator(tenantId: string): Promise<boolean> {
      const cleared = await sso.clearRequired(tenantId, new Date(clock.now()), 'operator')
      if (cleared) {
        await deps.audit.record({
          tenantId,
          action: 'sso.required.clear',
          actor: { type: 'system', id: null, name: 'operator (npm run sso-off)' },
          target: { type: 'org', id: tenantId },
          outcome: SUCCESS,
        })
      }
      return cleared
    },

    /** Starts proving a domain: the owner publishes the TXT record this returns. */
    async addDomain(principal: Principal, name: string) {
      await requireOwner(principal)
      const domain = normalizeDomain(name)
      const record = await load(principal.tenantId)
      const existing = record.domains.find((d) => d.domain === domain)
      if (existing) return describeDomain(existing)
      if (record.domains.length >= 20) {
        throw new AppError('conflict', 'An organization may list at most 20 domains.')
      }
      const added: SsoDomain = {
        domain,
        challenge: randomBytes(18).toString('base64url'),
        addedAt: new Date(clock.now()).toISOString(),
      }
      await sso.putConfig({ ...record, domains: [...record.domains, added] })
      return describeDomain(added)
    },

    /** Reads the TXT record now; the domain counts as verified only if it holds the value. */
    async verifyDomain(principal: Principal, name: string) {
      await requireOwner(principal)
      const domain = normalizeDomain(name)
      const record = await load(principal.tenantId)
      const entry = record.domains.find((d) => d.domain === domain)
      if (!entry) throw new AppError('not_found', 'This domain is not listed.')
      let records: string[][] = []
      try {
        records = await deps.resolveTxt(challengeName(domain))
      } catch {
        // No record, or no answer: the same refusal below.
      }
      const wanted = challengeValue(entry.challenge)
      if (!records.some((chunks) => chunks.join('') === wanted)) {
        throw new AppError(
          'sso_domain_unverified',
          `No TXT record ${challengeName(domain)} with the value ${wanted} was found.`,
        )
      }
      const verified = { ...entry, verifiedAt: new Date(clock.now()).toISOString() }
      await sso.putConfig({
        ...record,
        domains: record.domains.map((d) => (d.domain === domain ? verified : d)),
      })
      return describeDomain(verified)
    },
  }
}

export type SsoSettingsService = ReturnType<typeof createSsoSettingsService>

function normalizeIssuer(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalid('issuer', 'must be an absolute URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw invalid('issuer', 'must be an https URL')
  if (url.username || url.password || url.search || url.hash)
    throw invalid('issuer', 'must carry no credentials, query or fragment')
  // The issuer is compared exactly with the `iss` of every ID token: kept as typed, minus a
  // trailing slash the provider's own metadata would not have.
  return text.endsWith('/') && url.pathname !== '/' ? text.slice(0, -1) : text
}

export function normalizeDomain(text: string): string {
  const domain = text.trim().toLowerCase().replace(/\.$/, '')
  if (!DOMAIN.test(domain)) throw invalid('domain', 'must be a domain name such as example.com')
  return domain
}

const invalid = (field: string, message: string) =>
  new AppError('validation_failed', `${field}: ${message}`, {
    extra: { errors: [{ field, message }] },
  })
