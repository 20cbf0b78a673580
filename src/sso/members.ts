/**
 * What single sign-on needs of the organization's people. The SSO code never decides roles
 * itself: it asks here who belongs, with which role, and adds people the provider vouches for.
 */
export interface SsoMembers {
  /** The roles an owner may pick as the default for people signed in the first time. */
  roles: readonly string[]
  /** The person's role in the organization; undefined when not a member. */
  roleOf(tenantId: string, userId: string): Promise<string | undefined>
  /** A person with this (normalized) e-mail address, in whichever organization. */
  findUserByEmail(email: string): Promise<{ userId: string } | undefined>
  /** Records the sign-in on the membership (the members list shows it). */
  signedIn(tenantId: string, userId: string, at: Date): Promise<void>
  /** A new person with no password, made a member of the organization with `role`. */
  provision(input: { tenantId: string; email: string; role: string; at: Date }): Promise<string>
}
