/**
 * Which mode a value read gets (DESIGN.md section 6), first match wins:
 *   1. the server guardrail for the token's environment (KEYSTASH_MOCK_<ENVIRONMENT>);
 *   2. the key's override for that environment;
 *   3. the tenant's default for that environment, else the built-in default
 *      (development: mock, staging: mock, production: live).
 *
 * Guardrails: `force-mock` answers mock, `force-live` and `forbid-mock` answer live. The two
 * live ones resolve alike; they state different intents (forbid-mock, the production default,
 * says mock must never happen here; force-live says this environment always gets real keys) and
 * the refusal names the one that applied. Writes are checked too (checkSettingAllowed): a tenant
 * default or key override that a guardrail would overrule is refused rather than stored to be
 * silently ignored: forbid-mock and force-live refuse `mock`, force-mock refuses `live`.
 * Settings stored before a guardrail was configured stay harmless: step 1 still wins.
 */
import type { Environment, Guardrail } from '../config.ts'
import { AppError } from '../errors.ts'

export type Mode = 'mock' | 'live'
export type ModeSource = 'guardrail' | 'key_override' | 'environment_default'

export interface ModeResolution {
  environment: Environment
  effective: Mode
  source: ModeSource
}

/** Mode settings per environment; a missing or null entry means "not set". */
export type ModeSettings = Partial<Record<Environment, Mode | null>>

export const BUILT_IN_DEFAULTS: Readonly<Record<Environment, Mode>> = Object.freeze({
  development: 'mock',
  staging: 'mock',
  production: 'live',
})

export interface ResolveModeInput {
  /** From the access token. */
  environment: Environment
  guardrails: Readonly<Record<Environment, Guardrail>>
  keyOverrides?: ModeSettings | undefined
  tenantDefaults?: ModeSettings | undefined
}

const GUARDRAIL_MODE: Record<Guardrail, Mode | null> = {
  none: null,
  'force-mock': 'mock',
  'force-live': 'live',
  'forbid-mock': 'live',
}

export function resolveMode(input: ResolveModeInput): ModeResolution {
  const { environment } = input
  const guarded = GUARDRAIL_MODE[input.guardrails[environment]]
  if (guarded) return { environment, effective: guarded, source: 'guardrail' }
  const override = input.keyOverrides?.[environment]
  if (override) return { environment, effective: override, source: 'key_override' }
  const effective = input.tenantDefaults?.[environment] ?? BUILT_IN_DEFAULTS[environment]
  return { environment, effective, source: 'environment_default' }
}

/** The configuration variable that sets an environment's guardrail. */
export const guardrailVariable = (environment: Environment) =>
  `KEYSTASH_MOCK_${environment.toUpperCase()}`

/**
 * Refuses a tenant default or key override for `environment` that its guardrail forbids or
 * overrules. `null` (clearing the setting) is always allowed.
 */
export function checkSettingAllowed(
  guardrails: Readonly<Record<Environment, Guardrail>>,
  environment: Environment,
  requested: Mode | null,
): void {
  if (requested === null) return
  const guardrail = guardrails[environment]
  const refused =
    (requested === 'mock' && (guardrail === 'forbid-mock' || guardrail === 'force-live')) ||
    (requested === 'live' && guardrail === 'force-mock')
  if (!refused) return
  const variable = guardrailVariable(environment)
  const reason =
    guardrail === 'forbid-mock'
      ? `mock mode is forbidden in ${environment}`
      : `${environment} is always ${GUARDRAIL_MODE[guardrail]}`
  throw new AppError(
    'mock_guardrail',
    `Cannot set ${requested} mode for ${environment}: the server guardrail ${variable}=${guardrail} applies (${reason}).`,
    { extra: { environment, guardrail, variable, requested } },
  )
}
