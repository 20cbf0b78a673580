import { describe, expect, it } from 'vitest'
import {
  type MemberRole,
  mayManageMember,
  ROLE_SCOPES,
  ROLES,
  requireMintWithinRole,
  requireReveal,
  roleRevealsIn,
  scopesWithinRole,
} from '../../src/auth/roles.ts'
import { SCOPES } from '../../src/auth/scopes.ts'
import { AppError } from '../../src/errors.ts'

const member = (role: MemberRole['role'], productionReveal = false): MemberRole => ({
  role,
  productionReveal,
})
const session = (m: MemberRole) => ({ kind: 'session' as const, member: m })

function codeOf(fn: () => void): string | undefined {
  try {
    fn()
    return undefined
  } catch (error) {
    if (error instanceof AppError) return error.code
    throw error
  }
}

describe('roles', () => {
  it('are sets of the token scopes, owner holding them all and viewer no value read', () => {
    expect(ROLES).toEqual(['owner', 'admin', 'developer', 'viewer'])
    expect(ROLE_SCOPES.owner).toEqual(SCOPES)
    for (const role of ROLES) {
      for (const scope of ROLE_SCOPES[role]) expect(SCOPES).toContain(scope)
    }
    expect(ROLE_SCOPES.admin).not.toContain('encryption:write')
    expect(ROLE_SCOPES.admin).not.toContain('org:write')
    expect(ROLE_SCOPES.developer).not.toContain('mock:write')
    expect(ROLE_SCOPES.developer).not.toContain('audit:read')
    expect(ROLE_SCOPES.viewer).toEqual(['keys:list', 'audit:read', 'org:read'])
  })

  it('reveal production to developers only with a grant, and never to viewers', () => {
    const table = ROLES.flatMap((role) =>
      [false, true].flatMap((grant) =>
        (['development', 'staging', 'production'] as const).map(
          (env) => `${role}/${grant}/${env}:${roleRevealsIn(member(role, grant), env)}`,
        ),
      ),
    )
    expect(table.filter((row) => row.endsWith(':false'))).toEqual([
      'developer/false/production:false',
      'viewer/false/development:false',
      'viewer/false/staging:false',
      'viewer/false/production:false',
      'viewer/true/development:false',
      'viewer/true/staging:false',
      'viewer/true/production:false',
    ])
  })

  it('decides reveals for sessions from the role, and leaves access tokens to their minting', () => {
    expect(codeOf(() => requireReveal(session(member('developer')), 'production'))).toBe(
      'role_forbids',
    )
    expect(codeOf(() => requireReveal(session(member('developer')), 'staging'))).toBeUndefined()
    expect(codeOf(() => requireReveal(session(member('developer', true)), 'production'))).toBe(
      undefined,
    )
    expect(codeOf(() => requireReveal({ kind: 'access' }, 'production'))).toBeUndefined()
  })

  it('never lets a session mint beyond its role', () => {
    expect(
      codeOf(() =>
        requireMintWithinRole(session(member('developer')), ['keys:read'], 'production'),
      ),
    ).toBe('scope_escalation')
    expect(
      codeOf(() =>
        requireMintWithinRole(session(member('developer')), ['keys:read'], 'development'),
      ),
    ).toBeUndefined()
    expect(
      codeOf(() => requireMintWithinRole(session(member('admin')), ['org:write'], 'production')),
    ).toBe('scope_escalation')
  })

  it('narrows scopes to what a role may hold in an environment', () => {
    const all = [...SCOPES]
    expect(scopesWithinRole(member('developer'), all, 'production')).toEqual([
      'keys:list',
      'keys:write',
      'tokens:write',
      'org:read',
    ])
    expect(scopesWithinRole(member('viewer'), ['keys:read'], 'development')).toEqual([])
  })

  it('lets owners manage anyone, admins only those below owner, others nobody', () => {
    expect(mayManageMember('owner', 'owner', 'viewer')).toBe(true)
    expect(mayManageMember('admin', 'developer', 'admin')).toBe(true)
    expect(mayManageMember('admin', 'owner')).toBe(false)
    expect(mayManageMember('admin', 'viewer', 'owner')).toBe(false)
    expect(mayManageMember('developer', 'viewer', 'viewer')).toBe(false)
  })
})
