import type { ClaimCondition, TrustPreset } from '../../storage/trust-relationships.ts'
import { pinsExactly } from './claim-conditions.ts'

/**
 * What each platform's tokens look like, and which claims name the workload's owner. The
 * owner rule: at least one condition must pin the owner without a wildcard, or any
 * organization on the same platform could mint tokens for this tenant (`sub` = `repo:org/*`
 * also matches a repository `org` later creates, or a renamed and re-registered `org`).
 */
export interface Preset {
  /** The platform's issuer, when it has one for everybody. */
  issuer?: string
  /** Suggested maximum age of a subject token, in seconds. */
  maxSubjectTokenAgeSeconds: number
  oneTimeUse: boolean
  /** Whether the conditions pin the owner; `describe` says how to satisfy it. */
  pinsOwner(conditions: readonly ClaimCondition[]): boolean
  ownerRule: string
}

const pinned =
  (...claims: string[]) =>
  (conditions: readonly ClaimCondition[]) =>
    conditions.some((c) => claims.includes(c.claim) && pinsExactly(c))

export const PRESETS: Record<TrustPreset, Preset> = {
  // GitHub's ID tokens live a few minutes and a job can ask for a fresh one at any time, so
  // each may be exchanged once.
  'github-actions': {
    issuer: 'https://token.actions.githubusercontent.com',
    maxSubjectTokenAgeSeconds: 600,
    oneTimeUse: true,
    pinsOwner: pinned('/repository_owner_id', '/repository_id', '/repository_owner', '/repository'),
    ownerRule:
      'pin /repository_owner_id or /repository_id (recommended: ids are never reused) or /repository_owner or /repository exactly',
  },
  // The kubelet re-presents a projected token until it is about 80 % through its life: with
  // the usual `expirationSeconds: 3600`, up to 2,880 s after it was issued. One-time use
  // would break every exchange after the first.
  kubernetes: {
    maxSubjectTokenAgeSeconds: 2880,
    oneTimeUse: false,
    pinsOwner: (conditions) =>
      pinned('/kubernetes.io/namespace')(conditions) ||
      conditions.some((c) => c.claim === '/sub' && /^system:serviceaccount:[^*:]+:/.test(c.value)),
    ownerRule:
      'pin /kubernetes.io/namespace exactly, or /sub as system:serviceaccount:<namespace>:... with no wildcard in the namespace',
  },
  // A GitLab job's ID token is issued once, when the job starts, and lives as long as the job.
  'gitlab-ci': {
    issuer: 'https://gitlab.com',
    maxSubjectTokenAgeSeconds: 3600,
    oneTimeUse: false,
    pinsOwner: pinned('/namespace_id', '/project_id', '/namespace_path', '/project_path'),
    ownerRule:
      'pin /namespace_id or /project_id (recommended) or /namespace_path or /project_path exactly',
  },
  generic: {
    maxSubjectTokenAgeSeconds: 900,
    oneTimeUse: false,
    pinsOwner: pinned('/sub'),
    ownerRule: 'pin /sub exactly',
  },
}

/** Public platforms' issuers may only be trusted through their preset's owner rule. */
export function presetForIssuer(issuer: string): TrustPreset | undefined {
  for (const [name, preset] of Object.entries(PRESETS)) {
    if (preset.issuer !== undefined && sameIssuer(preset.issuer, issuer)) return name as TrustPreset
  }
  return undefined
}

const sameIssuer = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '')
