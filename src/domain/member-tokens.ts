import { type MemberRole, scopesWithinRole } from '../auth/roles.ts'
import type { Clock } from '../lib/clock.ts'
import type { TokenRecord } from '../storage/token-record.ts'
import type { TokenRepository } from '../storage/tokens.ts'

export interface MemberTokensDeps {
  tokens: Pick<TokenRepository, 'listLive' | 'narrow' | 'revoke'>
  clock: Clock
  /** Told of each token revoked here, so its cached status (and its tree's) drops at once. */
  onRevoked: (tenantId: string, tokenId: string) => void
}

/**
 * What a person's tokens may hold follows the person: the access tokens they minted with
 * their sessions, and every token below those in the token tree, never exceed their current
 * role (a demotion or a withdrawn grant narrows them, or revokes those left with nothing), and
 * leaving the organization revokes them unless the remover keeps them. Done eagerly, when
 * the role changes, so reading with a token never has to look its creator up.
 */
export function createMemberTokens({ tokens, clock, onRevoked }: MemberTokensDeps) {
  /** The live access tokens of the trees rooted in tokens the person's sessions minted. */
  async function treeOf(tenantId: string, userId: string): Promise<TokenRecord[]> {
    const now = new Date(clock.now()).toISOString()
    const live = await tokens.listLive(tenantId, 'access', now)
    const roots = new Set(
      live
        .filter((t) => t.createdBy.type === 'user' && t.createdBy.id === userId)
        .filter((t) => (t.ancestors ?? []).length === 0)
        .map((t) => t.tokenId),
    )
    return live.filter((t) => roots.has(t.ancestors?.[0] ?? t.tokenId))
  }

  async function revoke(record: TokenRecord, at: Date): Promise<void> {
    await tokens.revoke(record.tenantId, record.tokenId, at, record.kind)
    onRevoked(record.tenantId, record.tokenId)
  }

  return {
    /** Narrows or revokes the person's tokens to fit `member`; says how many of each. */
    async fitToRole(
      tenantId: string,
      userId: string,
      member: MemberRole,
    ): Promise<{ narrowed: number; revoked: number }> {
      const at = new Date(clock.now())
      let narrowed = 0
      let revoked = 0
      for (const record of await treeOf(tenantId, userId)) {
        const kept = scopesWithinRole(member, record.scopes, record.environment ?? 'production')
        if (kept.length === record.scopes.length) continue
        if (kept.length === 0) {
          await revoke(record, at)
          revoked++
        } else if (await tokens.narrow(tenantId, record.tokenId, kept, at)) {
          // The caller drops this instance's cached status afterwards (domain/members.ts).
          narrowed++
        }
      }
      return { narrowed, revoked }
    },

    /**
     * Ends the person's sessions in the organization. They already stop with the membership;
     * revoked, they stay stopped if the person is ever added again.
     */
    async endSessions(tenantId: string, userId: string): Promise<number> {
      const at = new Date(clock.now())
      const now = at.toISOString()
      const sessions = (await tokens.listLive(tenantId, 'session', now)).filter(
        (t) => t.userId === userId,
      )
      for (const session of sessions) await revoke(session, at)
      return sessions.length
    },

    /** Revokes the trees of tokens the person minted: revoking each root stops the rest. */
    async revokeAll(tenantId: string, userId: string): Promise<number> {
      const at = new Date(clock.now())
      const tree = await treeOf(tenantId, userId)
      const roots = tree.filter((t) => (t.ancestors ?? []).length === 0)
      for (const root of roots) await revoke(root, at)
      return tree.length
    },
  }
}

export type MemberTokens = ReturnType<typeof createMemberTokens>
