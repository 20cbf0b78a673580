import { describe, expect, it } from 'vitest'
import type { Environment, Guardrail } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import {
  checkSettingAllowed,
  type Mode,
  type ModeSettings,
  resolveMode,
} from '../../src/mock/resolve-mode.ts'

const environments: Environment[] = ['development', 'staging', 'production']
const noGuardrails: Record<Environment, Guardrail> = {
  development: 'none',
  staging: 'none',
  production: 'none',
}
const guarded = (environment: Environment, guardrail: Guardrail) => ({
  ...noGuardrails,
  [environment]: guardrail,
})
const everywhere = (mode: Mode): ModeSettings => ({
  development: mode,
  staging: mode,
  production: mode,
})

describe('resolveMode', () => {
  it.each([
    ['force-mock', 'mock', 'live'],
    ['force-live', 'live', 'mock'],
    ['forbid-mock', 'live', 'mock'],
  ] as const)(
    'guardrail %s wins over key override and tenant default',
    (guardrail, effective, other) => {
      for (const environment of environments) {
        const result = resolveMode({
          environment,
          guardrails: guarded(environment, guardrail),
          keyOverrides: everywhere(other),
          tenantDefaults: everywhere(other),
        })
        expect(result).toEqual({ environment, effective, source: 'guardrail' })
      }
    },
  )

  it('applies only the guardrail of the token environment', () => {
    const result = resolveMode({
      environment: 'staging',
      guardrails: guarded('production', 'force-mock'),
      keyOverrides: { production: 'live' },
    })
    expect(result).toEqual({
      environment: 'staging',
      effective: 'mock',
      source: 'environment_default',
    })
  })

  it.each(['mock', 'live'] as const)('a key override of %s beats the tenant default', (mode) => {
    const opposite = mode === 'mock' ? 'live' : 'mock'
    for (const environment of environments) {
      const result = resolveMode({
        environment,
        guardrails: noGuardrails,
        keyOverrides: { [environment]: mode },
        tenantDefaults: everywhere(opposite),
      })
      expect(result).toEqual({ environment, effective: mode, source: 'key_override' })
    }
  })

  it('ignores overrides set for other environments, or cleared', () => {
    const result = resolveMode({
      environment: 'development',
      guardrails: noGuardrails,
      keyOverrides: { development: null, production: 'mock' },
      tenantDefaults: { development: 'live' },
    })
    expect(result).toEqual({
      environment: 'development',
      effective: 'live',
      source: 'environment_default',
    })
  })

  it.each(['mock', 'live'] as const)('the tenant default %s applies without override', (mode) => {
    for (const environment of environments) {
      const result = resolveMode({
        environment,
        guardrails: noGuardrails,
        tenantDefaults: { [environment]: mode },
      })
      expect(result).toEqual({ environment, effective: mode, source: 'environment_default' })
    }
  })

  it.each([
    ['development', 'mock'],
    ['staging', 'mock'],
    ['production', 'live'],
  ] as const)('built-in default for %s is %s', (environment, effective) => {
    const expected = { environment, effective, source: 'environment_default' }
    expect(resolveMode({ environment, guardrails: noGuardrails })).toEqual(expected)
    expect(
      resolveMode({
        environment,
        guardrails: noGuardrails,
        keyOverrides: {},
        tenantDefaults: { [environment]: null },
      }),
    ).toEqual(expected)
  })

  it('with the shipped configuration, production is never mock', () => {
    const shipped = { ...noGuardrails, production: 'forbid-mock' as const }
    const result = resolveMode({
      environment: 'production',
      guardrails: shipped,
      keyOverrides: { production: 'mock' },
      tenantDefaults: { production: 'mock' },
    })
    expect(result.effective).toBe('live')
  })
})

describe('checkSettingAllowed', () => {
  const refusal = (guardrail: Guardrail, environment: Environment, requested: Mode) => {
    try {
      checkSettingAllowed(guarded(environment, guardrail), environment, requested)
    } catch (error) {
      return error
    }
    return undefined
  }

  it.each([
    ['forbid-mock', 'mock', 'mock mode is forbidden in'],
    ['force-live', 'mock', 'is always live'],
    ['force-mock', 'live', 'is always mock'],
  ] as const)(
    '%s refuses %s, naming the guardrail and its variable',
    (guardrail, requested, reason) => {
      for (const environment of environments) {
        const error = refusal(guardrail, environment, requested)
        expect(error).toBeInstanceOf(AppError)
        const appError = error as AppError
        expect(appError.code).toBe('mock_guardrail')
        expect(appError.status).toBe(409)
        const variable = `KEYSTASH_MOCK_${environment.toUpperCase()}`
        expect(appError.detail).toContain(`${variable}=${guardrail}`)
        expect(appError.detail).toContain(environment)
        expect(appError.detail).toContain(reason)
        expect(appError.extra).toEqual({ environment, guardrail, variable, requested })
      }
    },
  )

  it.each([
    ['none', 'mock'],
    ['none', 'live'],
    ['forbid-mock', 'live'],
    ['force-live', 'live'],
    ['force-mock', 'mock'],
  ] as const)('%s allows %s', (guardrail, requested) => {
    for (const environment of environments) {
      expect(refusal(guardrail, environment, requested)).toBeUndefined()
    }
  })

  it('always allows clearing a setting, and looks only at the named environment', () => {
    for (const guardrail of ['none', 'force-mock', 'force-live', 'forbid-mock'] as const) {
      expect(() =>
        checkSettingAllowed(guarded('production', guardrail), 'production', null),
      ).not.toThrow()
    }
    expect(() =>
      checkSettingAllowed(guarded('production', 'forbid-mock'), 'staging', 'mock'),
    ).not.toThrow()
  })
})
