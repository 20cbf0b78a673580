import { mayManageMember, ROLES, type Role } from '../../../auth/roles.ts'
import type { describeInvitation } from '../../../domain/invitations.ts'
import type { describeMember } from '../../../domain/members.ts'
import { Page, type PageProps, When } from './layout.tsx'
import { DataTable } from './table.tsx'

type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>
export type MemberView = ReturnType<typeof describeMember>
export type InvitationView = ReturnType<typeof describeInvitation>

export interface MembersPageProps {
  frame: Frame
  /** The signed-in person: what they may do decides which controls appear. */
  me: { userId: string; role: Role }
  members: MemberView[]
  /** Undefined when the person's role may not see invitations. */
  invitations: InvitationView[] | undefined
  /** Just created: the link to hand over (no SMTP), or the address it was mailed to. */
  invited?: { email: string; link: string | null }
}

/**
 * Members: who belongs to the organization and with which role; owners and admins change
 * roles, remove people and invite; owners grant production reveals. A control a role cannot
 * use is not shown (and the service refuses it anyway).
 */
export function MembersPage({ frame, me, members, invitations, invited }: MembersPageProps) {
  const csrf = frame.csrf ?? ''
  const manager = me.role === 'owner' || me.role === 'admin'
  return (
    <Page title="Members" section="members" {...frame}>
      {invited ? (
        <section class="card" aria-labelledby="invited-title">
          <h2 id="invited-title">{`${invited.email} is invited`}</h2>
          {invited.link ? (
            <>
              <p>
                No mail server is configured: hand this link over yourself. It is shown this once,
                works once, for that address only, within 7 days.
              </p>
              <p>
                <code id="invitation-link">{invited.link}</code>
              </p>
            </>
          ) : (
            <p>The invitation link was mailed to that address.</p>
          )}
        </section>
      ) : null}
      <DataTable
        label="Members"
        columns={[
          'Member',
          'Role',
          'Joined',
          'Last sign-in',
          'Signs in with',
          'Production reveals',
          manager && { hidden: 'Actions' },
        ]}
        items={members}
        row={(m) => (
          <tr data-member={m.email}>
            <td>{m.email}</td>
            <td>
              <span class="tag">{m.role}</span>
            </td>
            <td>
              <When at={m.joinedAt} />
            </td>
            <td>
              <When at={m.lastSignInAt} />
            </td>
            <td>{m.signInMethod}</td>
            <td>
              {m.role === 'owner' || m.role === 'admin' ? (
                <span class="muted">with the role</span>
              ) : m.role === 'viewer' ? (
                <span class="muted">never</span>
              ) : (
                <GrantControl member={m} csrf={csrf} owner={me.role === 'owner'} />
              )}
            </td>
            {manager ? (
              <td>
                {m.userId !== me.userId && mayManageMember(me.role, m.role) ? (
                  <MemberActions member={m} me={me.role} csrf={csrf} />
                ) : null}
              </td>
            ) : null}
          </tr>
        )}
      />
      {invitations ? <Invitations invitations={invitations} me={me.role} csrf={csrf} /> : null}
    </Page>
  )
}

function GrantControl({
  member,
  csrf,
  owner,
}: {
  member: MemberView
  csrf: string
  owner: boolean
}) {
  const granted = member.productionReveal !== null
  if (!owner) return <span>{granted ? 'granted' : 'not granted'}</span>
  return (
    <form method="post" action={`/members/${member.userId}/grant`} class="inline">
      <input type="hidden" name="csrf" value={csrf} />
      <input type="hidden" name="granted" value={granted ? 'false' : 'true'} />
      <button type="submit" class="secondary">
        {granted ? `Withdraw grant from ${member.email}` : `Grant ${member.email}`}
      </button>
    </form>
  )
}

function MemberActions({ member, me, csrf }: { member: MemberView; me: Role; csrf: string }) {
  const roles = ROLES.filter((role) => mayManageMember(me, member.role, role))
  return (
    <div class="actions">
      <form method="post" action={`/members/${member.userId}/role`} class="inline">
        <input type="hidden" name="csrf" value={csrf} />
        <label class="visually-hidden" for={`role-${member.userId}`}>
          {`Role of ${member.email}`}
        </label>
        <select id={`role-${member.userId}`} name="role">
          {roles.map((role) => (
            <option value={role} selected={role === member.role}>
              {role}
            </option>
          ))}
        </select>
        <button type="submit" class="secondary">
          Change role
        </button>
      </form>
      <form method="post" action={`/members/${member.userId}/remove`} class="inline">
        <input type="hidden" name="csrf" value={csrf} />
        <label class="check">
          <input type="checkbox" name="keepTokens" value="true" />
          keep their tokens
        </label>
        <button type="submit" class="danger" aria-label={`Remove ${member.email}`}>
          Remove
        </button>
      </form>
    </div>
  )
}

function Invitations({
  invitations,
  me,
  csrf,
}: {
  invitations: InvitationView[]
  me: Role
  csrf: string
}) {
  const roles = ROLES.filter((role) => role !== 'owner' && mayManageMember(me, role, role))
  return (
    <>
      <section aria-labelledby="invite-title" class="card">
        <h2 id="invite-title">Invite someone</h2>
        <form method="post" action="/members/invite" class="stacked">
          <input type="hidden" name="csrf" value={csrf} />
          <label for="invite-email">E-mail</label>
          <input id="invite-email" name="email" type="email" required maxlength={254} />
          <label for="invite-role">Role</label>
          <select id="invite-role" name="role">
            {roles.map((role) => (
              <option value={role} selected={role === 'developer'}>
                {role}
              </option>
            ))}
          </select>
          <button type="submit">Invite</button>
        </form>
      </section>
      <h2>Pending invitations</h2>
      <DataTable
        label="Pending invitations"
        columns={['E-mail', 'Role', 'Expires', { hidden: 'Action' }]}
        items={invitations}
        empty="No pending invitations."
        row={(i) => (
          <tr data-invitation={i.email}>
            <td>{i.email}</td>
            <td>{i.role}</td>
            <td>
              <When at={i.expiresAt} />
            </td>
            <td>
              <form method="post" action={`/invitations/${i.id}/revoke`} class="inline">
                <input type="hidden" name="csrf" value={csrf} />
                <button
                  type="submit"
                  class="danger"
                  aria-label={`Revoke the invitation of ${i.email}`}
                >
                  Revoke
                </button>
              </form>
            </td>
          </tr>
        )}
      />
    </>
  )
}

/**
 * The page a one-time link opens (an invitation or an address confirmation). The secret is in
 * the URL's fragment, which the browser never sends; the page's script moves it into the form
 * and out of the address bar, and the person posts it.
 */
export function OneTimeLinkPage({
  nonce,
  csrf,
  title,
  action,
  explanation,
  button,
}: {
  nonce: string
  csrf?: string | undefined
  title: string
  action: string
  explanation: string
  button: string | undefined
}) {
  return (
    <Page title={title} nonce={nonce} scripts={['/assets/one-time-link.js']}>
      <div class="card narrow">
        <p>{explanation}</p>
        {button ? (
          <form method="post" action={action} id="one-time-link">
            {csrf ? <input type="hidden" name="csrf" value={csrf} /> : null}
            <input type="hidden" name="code" id="one-time-code" />
            <button type="submit">{button}</button>
          </form>
        ) : null}
      </div>
    </Page>
  )
}
