const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/**
 * `3600`, `90s`, `15m`, `1h`, `7d`, `2w`, or combined like `1h30m`, to whole seconds.
 * Undefined for anything else (including zero).
 */
export function parseDuration(text: string): number | undefined {
  const input = text.trim().toLowerCase()
  if (/^\d+$/.test(input)) return positive(Number(input))
  if (!/^(\d+[smhdw])+$/.test(input)) return undefined
  let total = 0
  for (const [, amount, unit] of input.matchAll(/(\d+)([smhdw])/g)) {
    total += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1)
  }
  return positive(total)
}

const positive = (n: number) => (Number.isSafeInteger(n) && n > 0 ? n : undefined)
