import { describe, expect, it } from 'vitest'
import {
  conditionHolds,
  firstFailingCondition,
  isJsonPointer,
  resolvePointer,
} from '../../src/domain/trust/claim-conditions.ts'
import { PRESETS, presetForIssuer } from '../../src/domain/trust/presets.ts'
import type { ClaimCondition } from '../../src/storage/trust-relationships.ts'

const k8s = {
  sub: 'system:serviceaccount:payments:api',
  'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api' } },
  'a/b': 'slash',
  'm~n': 'tilde',
  run: 42,
  protected: true,
  groups: ['x'],
}

const exact = (claim: string, value: string): ClaimCondition => ({ claim, match: 'exact', value })
const glob = (claim: string, value: string): ClaimCondition => ({ claim, match: 'glob', value })

describe('JSON Pointer into claims', () => {
  it.each([
    ['/sub', 'system:serviceaccount:payments:api'],
    ['/kubernetes.io/namespace', 'payments'],
    ['/kubernetes.io/serviceaccount/name', 'api'],
    ['/a~1b', 'slash'],
    ['/m~0n', 'tilde'],
    ['/missing', undefined],
    ['/kubernetes.io/namespace/deeper', undefined],
    ['/groups/0', undefined],
  ])('%s resolves to %s', (pointer, value) => {
    expect(resolvePointer(k8s, pointer)).toEqual(value)
  })

  it('refuses what is not a pointer', () => {
    expect(isJsonPointer('/kubernetes.io/namespace')).toBe(true)
    expect(isJsonPointer('sub')).toBe(false)
    expect(isJsonPointer('/a~2')).toBe(false)
    expect(isJsonPointer('')).toBe(false)
  })

  it('does not walk into inherited properties', () => {
    expect(resolvePointer({}, '/constructor')).toBeUndefined()
    expect(resolvePointer({}, '/__proto__')).toBeUndefined()
  })
})

describe('conditions', () => {
  it.each([
    [exact('/kubernetes.io/namespace', 'payments'), true],
    [exact('/kubernetes.io/namespace', 'Payments'), false],
    [exact('/run', '42'), true],
    [exact('/protected', 'true'), true],
    [exact('/groups', 'x'), false],
    [exact('/kubernetes.io', '[object Object]'), false],
    [glob('/sub', 'system:serviceaccount:payments:*'), true],
    [glob('/sub', 'system:serviceaccount:pay*:api'), true],
    [glob('/sub', 'system:serviceaccount:default:*'), false],
    [glob('/sub', 'system.serviceaccount*'), false],
  ])('%j holds: %s', (condition, holds) => {
    expect(conditionHolds(k8s, condition)).toBe(holds)
  })

  it('repo:org/* does not match repo:org-evil/x, and regex characters are literal', () => {
    expect(conditionHolds({ sub: 'repo:org-evil/x' }, glob('/sub', 'repo:org/*'))).toBe(false)
    expect(conditionHolds({ sub: 'repo:org/x' }, glob('/sub', 'repo:org/*'))).toBe(true)
    expect(conditionHolds({ sub: 'repoXorg' }, glob('/sub', 'repo.org'))).toBe(false)
    expect(conditionHolds({ sub: 'a\nb' }, glob('/sub', 'a*b'))).toBe(true)
  })

  it('all must hold: the first failing one is named', () => {
    const failing = firstFailingCondition(k8s, [
      exact('/kubernetes.io/namespace', 'payments'),
      exact('/kubernetes.io/serviceaccount/name', 'worker'),
    ])
    expect(failing?.claim).toBe('/kubernetes.io/serviceaccount/name')
  })
})

describe('the owner-pinning rule of each preset', () => {
  it.each([
    ['github-actions', [exact('/repository_owner_id', '5429')], true],
    ['github-actions', [exact('/repository_id', '74829')], true],
    ['github-actions', [glob('/sub', 'repo:org/*')], false],
    ['github-actions', [glob('/repository_owner', 'org*')], false],
    ['github-actions', [glob('/repository_owner', 'org')], true],
    ['kubernetes', [exact('/kubernetes.io/namespace', 'payments')], true],
    ['kubernetes', [glob('/sub', 'system:serviceaccount:payments:*')], true],
    ['kubernetes', [glob('/sub', 'system:serviceaccount:*:api')], false],
    ['kubernetes', [glob('/kubernetes.io/namespace', 'pay*')], false],
    ['gitlab-ci', [exact('/project_id', '20')], true],
    ['gitlab-ci', [glob('/project_path', 'acme/*')], false],
    ['generic', [exact('/sub', 'svc')], true],
    ['generic', [glob('/sub', 'svc-*')], false],
  ] as const)('%s with %j: %s', (preset, conditions, pinned) => {
    expect(PRESETS[preset].pinsOwner(conditions)).toBe(pinned)
  })

  it('ties the public platforms’ issuers to their preset', () => {
    expect(presetForIssuer('https://token.actions.githubusercontent.com')).toBe('github-actions')
    expect(presetForIssuer('https://gitlab.com/')).toBe('gitlab-ci')
    expect(presetForIssuer('https://issuer.example')).toBeUndefined()
  })
})
