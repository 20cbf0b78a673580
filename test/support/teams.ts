import type { Role } from '../../src/auth/roles.ts'
import { type client, signup } from './stack.ts'

type Api = ReturnType<typeof client>

/** The code an invitation link carries in its fragment. */
export const codeOf = (link: string) => decodeURIComponent(new URL(link).hash.slice(1))

export interface Teammate {
  email: string
  password: string
  userId: string
  /** A session in the inviting organization. */
  session: string
  /** A session in the organization the person created at sign-up. */
  home: string
}

/**
 * A person who signs up, is invited to the owner's organization with `role` (over the API,
 * with no SMTP server configured, so the link comes back to the inviter) and accepts. A role
 * of `owner` is reached through an admin invitation and a promotion by the owner.
 */
export async function addTeammate(api: Api, ownerSession: string, role: Role): Promise<Teammate> {
  const person = await signup(api)
  const invited = await api.post(
    '/v1/org/invitations',
    { email: person.email, role: role === 'owner' ? 'admin' : role },
    ownerSession,
  )
  if (invited.status !== 201)
    throw new Error(`invite: ${invited.status} ${JSON.stringify(invited.body)}`)
  const accepted = await api.post(
    '/v1/invitations/accept',
    { code: codeOf(invited.body.link) },
    person.session,
  )
  if (accepted.status !== 200) {
    throw new Error(`accept: ${accepted.status} ${JSON.stringify(accepted.body)}`)
  }
  if (role === 'owner') {
    const promoted = await api.patch(`/v1/org/members/${person.userId}`, { role }, ownerSession)
    if (promoted.status !== 200) throw new Error(`promote: ${promoted.status}`)
  }
  return {
    email: person.email,
    password: person.password,
    userId: person.userId,
    session: accepted.body.session.token as string,
    home: person.session,
  }
}
