import { KmsError } from './errors.ts'
import type { Caller } from './identity.ts'

/**
 * Key policies in the AWS JSON policy document shape, evaluated the way AWS evaluates a key
 * policy on its own: an explicit Deny wins, otherwise some Allow must match, otherwise the
 * call is denied. Condition operators we do not implement are rejected when the policy is
 * put, rather than silently never matching.
 */
export interface PolicyRequest {
  action: string
  caller: Caller
  resourceArn: string
  encryptionContext: Record<string, string>
}

type Values = string | string[]
interface Statement {
  Effect: 'Allow' | 'Deny'
  Principal: '*' | { AWS: Values }
  Action?: Values
  NotAction?: Values
  Resource?: Values
  Condition?: Record<string, Record<string, Values>>
}

const conditionOperators: Record<string, (actual: string | undefined, wanted: string) => boolean> =
  {
    StringEquals: (actual, wanted) => actual === wanted,
    StringNotEquals: (actual, wanted) => actual !== wanted,
    StringEqualsIgnoreCase: (actual, wanted) => actual?.toLowerCase() === wanted.toLowerCase(),
    StringNotEqualsIgnoreCase: (actual, wanted) => actual?.toLowerCase() !== wanted.toLowerCase(),
    StringLike: (actual, wanted) => actual !== undefined && glob(wanted, false).test(actual),
    StringNotLike: (actual, wanted) => actual === undefined || !glob(wanted, false).test(actual),
    Null: (actual, wanted) => (actual === undefined) === (wanted === 'true'),
  }
// The negated operators hold only if no listed value matches, the others if any does.
const negated = new Set(['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike'])

export function defaultKeyPolicy(accountId: string): string {
  const statement = {
    Sid: 'Enable IAM User Permissions',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${accountId}:root` },
    Action: 'kms:*',
    Resource: '*',
  }
  return JSON.stringify(
    { Version: '2012-10-17', Id: 'key-default-1', Statement: [statement] },
    null,
    2,
  )
}

/** Throws MalformedPolicyDocumentException when the document is not one we can evaluate. */
export function parsePolicy(text: string): Statement[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw malformed('The policy is not valid JSON.')
  }
  if (!isObject(doc)) throw malformed('The policy must be a JSON object.')
  const raw = doc.Statement
  const statements = Array.isArray(raw) ? raw : [raw]
  if (statements.length === 0 || !statements.every(isObject)) {
    throw malformed('The policy must have at least one Statement object.')
  }
  for (const s of statements) {
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
      throw malformed('Effect must be Allow or Deny.')
    const principal = s.Principal
    if (principal !== '*' && !(isObject(principal) && isValues(principal.AWS))) {
      throw malformed('Each statement needs a Principal: "*" or {"AWS": [...]}.')
    }
    if (!isValues(s.Action) && !isValues(s.NotAction))
      throw malformed('Each statement needs an Action.')
    if (s.Condition !== undefined) checkCondition(s.Condition)
  }
  return statements as unknown as Statement[]
}

export function isAllowed(policyText: string, request: PolicyRequest): boolean {
  const matching = parsePolicy(policyText).filter((s) => statementApplies(s, request))
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny')
}

function statementApplies(s: Statement, request: PolicyRequest): boolean {
  const principals = s.Principal === '*' ? ['*'] : list(s.Principal.AWS)
  if (!principals.some((p) => p === '*' || request.caller.principals.includes(p))) return false
  const actionMatches = (patterns: Values) =>
    list(patterns).some((p) => glob(p, true).test(request.action))
  if (s.Action !== undefined && !actionMatches(s.Action)) return false
  if (s.NotAction !== undefined && actionMatches(s.NotAction)) return false
  if (
    s.Resource !== undefined &&
    !list(s.Resource).some((r) => glob(r, false).test(request.resourceArn))
  ) {
    return false
  }
  return Object.entries(s.Condition ?? {}).every(([operator, block]) =>
    Object.entries(block).every(([key, wanted]) => {
      const test = conditionOperators[operator]
      if (!test) return false
      const actual = contextValue(key, request)
      const results = list(wanted).map((w) => test(actual, w))
      return negated.has(operator) ? results.every(Boolean) : results.some(Boolean)
    }),
  )
}

/** Condition key names are case-insensitive in AWS; their values are not. */
function contextValue(key: string, request: PolicyRequest): string | undefined {
  const lower = key.toLowerCase()
  const prefix = 'kms:encryptioncontext:'
  if (lower.startsWith(prefix)) {
    const wanted = lower.slice(prefix.length)
    const entry = Object.entries(request.encryptionContext).find(
      ([k]) => k.toLowerCase() === wanted,
    )
    return entry?.[1]
  }
  if (lower === 'kms:calleraccount' || lower === 'aws:principalaccount') {
    return request.caller.accountId
  }
  if (lower === 'aws:principalarn') return request.caller.arn
  return undefined
}

function checkCondition(condition: unknown): void {
  if (!isObject(condition)) throw malformed('Condition must be an object.')
  for (const [operator, block] of Object.entries(condition)) {
    if (!conditionOperators[operator]) {
      const supported = Object.keys(conditionOperators).join(', ')
      throw malformed(
        `The local KMS does not support the condition operator ${operator} (supported: ${supported}).`,
      )
    }
    if (!isObject(block) || !Object.values(block).every(isValues)) {
      throw malformed(`The ${operator} condition must map keys to strings.`)
    }
  }
}

/** `*` and `?` wildcards, as in policy actions, resources and StringLike. */
function glob(pattern: string, ignoreCase: boolean): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '')
}

const list = (values: Values): string[] => (Array.isArray(values) ? values : [values])
const isValues = (v: unknown): v is Values =>
  typeof v === 'string' ||
  (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'))
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const malformed = (message: string) => new KmsError('MalformedPolicyDocumentException', message)
