import type { Config } from '../config.ts'
import { checkSettingAllowed, type ModeSettings } from '../mock/resolve-mode.ts'

/** A key's mock-mode overrides with `changes` applied (null clears one), each checked against the guardrails. */
export function mergeOverrides(
  existing: ModeSettings | undefined,
  changes: ModeSettings,
  config: Pick<Config, 'mockGuardrails'>,
): ModeSettings {
  const merged: ModeSettings = { ...existing }
  for (const [environment, setting] of Object.entries(changes) as [
    keyof ModeSettings,
    'mock' | 'live' | null,
  ][]) {
    checkSettingAllowed(config.mockGuardrails, environment, setting ?? null)
    if (setting === null) delete merged[environment]
    else merged[environment] = setting
  }
  return merged
}
