import { AppError } from '../errors.ts'
import type { RatePolicy } from './token-bucket.ts'
import { TokenBucket } from './token-bucket.ts'

/**
 * Which limit a bucket enforces. `trust` is for token exchange (workload identity): a trust
 * relationship is limited as a whole, because CI runners and clusters share addresses and
 * their workloads come and go; call `check([{ limit: 'trust', key, policy }, organization])`.
 */
export type LimitKind = 'token' | 'organization' | 'trust'

export interface RateSubject {
  limit: LimitKind
  /** Unique per bucket, e.g. `tenant|token id`. Never leaves the process but for the exchange. */
  key: string
  tenantId: string
  policy: RatePolicy
}

export interface RateLimiterOptions {
  /** Server defaults; undefined: that limit is off (a token's own limit still applies). */
  token: RatePolicy | undefined
  organization: RatePolicy | undefined
  now: () => number
  onRefused?: (limit: LimitKind) => void
  /** Buckets unused this long are forgotten (they would be full again anyway). */
  idleMs?: number
}

/** What a limited request is told: the draft's fields, and whether it may go on. */
export interface RateVerdict {
  allowed: boolean
  headers: Record<string, string>
}

/**
 * Local token buckets per access token and per organization (ratelimit/exchange.ts shares
 * their counts between instances). A request is admitted only when every bucket it belongs to
 * has a token, and then takes one from each, so a refusal by one costs the others nothing.
 *
 * The headers follow draft-ietf-httpapi-ratelimit-headers-09: `RateLimit-Policy` lists each
 * limit as `"name";q=<burst>;w=<seconds to refill it>`, `RateLimit` its state as
 * `"name";r=<remaining>;t=<seconds until full>`.
 */
export function createRateLimiter(options: RateLimiterOptions) {
  const { now, onRefused, idleMs = 60_000 } = options
  const buckets = new Map<string, TokenBucket>()
  const policyText = new WeakMap<RatePolicy, string>()

  function bucketFor(subject: RateSubject, at: number): TokenBucket {
    let bucket = buckets.get(subject.key)
    if (bucket === undefined || !samePolicy(bucket.policy, subject.policy)) {
      bucket = new TokenBucket(subject.policy, at)
      buckets.set(subject.key, bucket)
    }
    bucket.usedAt = at
    return bucket
  }

  /**
   * Admits or refuses one request against every subject's bucket. `quiet`: a refusal is
   * neither counted nor described (its caller hands the request to a path that refuses it).
   * Runs on every limited request, so it builds the headers by concatenation (no arrays or
   * closures) and the policy header once per subject list.
   */
  function check(subjects: readonly RateSubject[], quiet = false): RateVerdict {
    const at = now()
    let refused = -1
    for (let i = 0; i < subjects.length; i++) {
      const bucket = bucketFor(subjects[i] as RateSubject, at)
      if (refused < 0 && bucket.refill(at) < 1) refused = i
    }
    if (refused >= 0 && quiet) return QUIET_REFUSAL
    let state = ''
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[i] as RateSubject
      const bucket = buckets.get(subject.key) as TokenBucket
      if (refused < 0) bucket.take()
      state += `${i === 0 ? '' : ', '}"${subject.limit}";r=${Math.max(0, Math.floor(bucket.tokens))};t=${bucket.secondsUntilFull()}`
    }
    const headers: Record<string, string> = {
      'ratelimit-policy': policyHeader(subjects),
      ratelimit: state,
    }
    if (refused < 0) return { allowed: true, headers }
    const subject = subjects[refused] as RateSubject
    onRefused?.(subject.limit)
    headers['retry-after'] = String((buckets.get(subject.key) as TokenBucket).secondsUntilOne())
    return { allowed: false, headers }
  }

  const policyHeaders = new WeakMap<readonly RateSubject[], string>()
  function policyHeader(subjects: readonly RateSubject[]): string {
    let text = policyHeaders.get(subjects)
    if (text === undefined) {
      text = subjects.map((s) => policyOf(s)).join(', ')
      policyHeaders.set(subjects, text)
    }
    return text
  }

  function policyOf(subject: RateSubject): string {
    let text = policyText.get(subject.policy)
    if (text === undefined) {
      const { rate, burst } = subject.policy
      text = `"${subject.limit}";q=${burst};w=${Math.max(1, Math.ceil(burst / rate))}`
      policyText.set(subject.policy, text)
    }
    return text
  }

  // A verified token's principal is one object for as long as its status is cached, so its
  // subjects (and their key strings) are built once, not on every warm read.
  const subjectsByPrincipal = new WeakMap<object, RateSubject[]>()

  /** The subjects of a request made with an access token or session. */
  function subjectsOf(principal: {
    tenantId: string
    tokenId: string
    rateLimit?: RatePolicy | undefined
  }): RateSubject[] {
    let known = subjectsByPrincipal.get(principal)
    if (known === undefined) {
      known = buildSubjects(principal)
      subjectsByPrincipal.set(principal, known)
    }
    return known
  }

  function buildSubjects(principal: {
    tenantId: string
    tokenId: string
    rateLimit?: RatePolicy | undefined
  }): RateSubject[] {
    const subjects: RateSubject[] = []
    const own = principal.rateLimit ?? options.token
    if (own) {
      subjects.push({
        limit: 'token',
        key: `token|${principal.tenantId}|${principal.tokenId}`,
        tenantId: principal.tenantId,
        policy: own,
      })
    }
    if (options.organization) {
      subjects.push({
        limit: 'organization',
        key: `organization|${principal.tenantId}`,
        tenantId: principal.tenantId,
        policy: options.organization,
      })
    }
    return subjects
  }

  return {
    check,
    subjectsOf,
    /** Checks a token's request; throws `rate_limited` (429) when it must wait. */
    admit(principal: Parameters<typeof subjectsOf>[0]): RateVerdict | undefined {
      const subjects = subjectsOf(principal)
      if (subjects.length === 0) return undefined
      const verdict = check(subjects)
      if (!verdict.allowed) throw rateLimited(verdict)
      return verdict
    },
    /**
     * `admit` for a path that hands refusals to another (reads/entrance.ts): false when
     * the request must wait, with nothing taken or counted; undefined when no limit applies.
     */
    tryAdmit(principal: Parameters<typeof subjectsOf>[0]): RateVerdict | undefined | false {
      const subjects = subjectsOf(principal)
      if (subjects.length === 0) return undefined
      const verdict = check(subjects, true)
      return verdict.allowed ? verdict : false
    },
    /** The buckets, for the exchange; idle ones are dropped on the way. */
    active(): Array<[key: string, bucket: TokenBucket]> {
      const at = now()
      const out: Array<[string, TokenBucket]> = []
      for (const [key, bucket] of buckets) {
        if (at - bucket.usedAt > idleMs && bucket.unreported === 0) buckets.delete(key)
        else out.push([key, bucket])
      }
      return out
    },
    /** The default limit of an access token (the ceiling of what a session may mint). */
    tokenDefault: options.token,
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>

export function rateLimited(verdict: RateVerdict): AppError {
  const seconds = Number(verdict.headers['retry-after'] ?? 1)
  return new AppError('rate_limited', `Too many requests: retry in ${seconds} s.`, {
    headers: verdict.headers,
    extra: { retryAfter: seconds },
  })
}

const QUIET_REFUSAL: RateVerdict = Object.freeze({ allowed: false, headers: {} })

const samePolicy = (a: RatePolicy, b: RatePolicy) => a.rate === b.rate && a.burst === b.burst
