import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpCodeAt } from '../../src/auth/totp.ts'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { resetSecondFactor } from '../../src/domain/mfa-reset.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { addTeammate } from '../support/teams.ts'

// Moved forward by whole TOTP steps instead of waiting for them.
const clock = { offset: 0, now: () => Date.now() + clock.offset }
const nextStep = () => {
  clock.offset += 30_000
}

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  // Invitations need a public URL; an IP address keeps passkeys off (tested below).
  stack = await startStack({ clock, env: { KEYSTASH_PUBLIC_URL: 'http://127.0.0.1:8787' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

/** Signs up and sets up an authenticator app; returns its seed and recovery codes. */
async function enrolled() {
  const person = await signup(api)
  const started = await api.post('/v1/me/mfa/totp', {}, person.session)
  expect(started.status).toBe(200)
  expect(started.headers.get('cache-control')).toBe('no-store')
  const secret = started.body.secret as string
  expect(started.body.uri).toMatch(/^otpauth:\/\/totp\//)
  const confirmed = await api.post(
    '/v1/me/mfa/totp/confirm',
    { code: totpCodeAt(secret, clock.now()) },
    person.session,
  )
  expect(confirmed.status).toBe(200)
  return { ...person, secret, recoveryCodes: confirmed.body.recoveryCodes as string[] }
}

async function challengeFor(person: { email: string; password: string }) {
  const res = await api.post('/v1/auth/login', { email: person.email, password: person.password })
  expect(res.status).toBe(200)
  expect(res.body.session).toBeUndefined()
  return res.body.mfa as { challenge: string; purpose: string; methods: string[] }
}

/** A session opened with the person's password and a TOTP code: one that used a factor. */
async function sessionWithFactor(person: { email: string; password: string; secret: string }) {
  const mfa = await challengeFor(person)
  const res = await api.post('/v1/auth/mfa', {
    challenge: mfa.challenge,
    code: totpCodeAt(person.secret, clock.now()),
  })
  expect(res.status).toBe(200)
  return res.body.session.token as string
}

describe('TOTP', () => {
  it('is set up with a code from the app and gives ten single-use recovery codes', async () => {
    const person = await signup(api)
    const started = await api.post('/v1/me/mfa/totp', {}, person.session)
    const wrong = await api.post('/v1/me/mfa/totp/confirm', { code: '000000' }, person.session)
    // A wrong first code leaves the factor unset (one in a million it is the right one).
    if (totpCodeAt(started.body.secret, clock.now()) !== '000000') {
      expect(wrong.status).toBe(401)
      expect(wrong.body.code).toBe('mfa_code_invalid')
      expect((await api.get('/v1/me/mfa', person.session)).body.totp.enabled).toBe(false)
    }
    const confirmed = await api.post(
      '/v1/me/mfa/totp/confirm',
      { code: totpCodeAt(started.body.secret, clock.now()) },
      person.session,
    )
    expect(confirmed.status).toBe(200)
    const codes = confirmed.body.recoveryCodes as string[]
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)
    for (const code of codes) expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
    const status = await api.get('/v1/me/mfa', person.session)
    expect(status.body).toMatchObject({ totp: { enabled: true }, recoveryCodesRemaining: 10 })
    // A second set-up over a confirmed factor is refused: removing it comes first.
    expect((await api.post('/v1/me/mfa/totp', {}, person.session)).status).toBe(409)
  })

  it('makes login two steps: the password gives a challenge, the code a session', async () => {
    const person = await enrolled()
    nextStep()
    const mfa = await challengeFor(person)
    expect(mfa).toMatchObject({ purpose: 'verify', methods: ['totp', 'recovery_code'] })
    // The challenge is not a session.
    expect((await api.get('/v1/me', mfa.challenge)).status).toBe(401)
    const done = await api.post('/v1/auth/mfa', {
      challenge: mfa.challenge,
      code: totpCodeAt(person.secret, clock.now()),
    })
    expect(done.status).toBe(200)
    expect(done.headers.get('cache-control')).toBe('no-store')
    const me = await api.get('/v1/me', done.body.session.token)
    expect(me.status).toBe(200)
    expect(me.body.userId).toBe(person.userId)
    // The session carries when the factor was used.
    const record = await stack.deps.authenticator.authenticate(done.body.session.token)
    expect(Date.parse(record.principal.mfaAt ?? '')).toBeGreaterThan(clock.now() - 5_000)
    // A challenge yields one session.
    const again = await api.post('/v1/auth/mfa', {
      challenge: mfa.challenge,
      code: totpCodeAt(person.secret, clock.now() + 30_000),
    })
    expect(again.status).toBe(401)
    expect(again.body.code).toBe('mfa_challenge_invalid')
  })

  it('accepts a code once: the same code (or an older one) is refused afterwards', async () => {
    const person = await enrolled()
    nextStep()
    const code = totpCodeAt(person.secret, clock.now())
    const first = await challengeFor(person)
    expect((await api.post('/v1/auth/mfa', { challenge: first.challenge, code })).status).toBe(200)
    const second = await challengeFor(person)
    const reused = await api.post('/v1/auth/mfa', { challenge: second.challenge, code })
    expect(reused.status).toBe(401)
    expect(reused.body.code).toBe('mfa_code_invalid')
    const older = await api.post('/v1/auth/mfa', {
      challenge: second.challenge,
      code: totpCodeAt(person.secret, clock.now() - 30_000),
    })
    expect(older.body.code).toBe('mfa_code_invalid')
    // The next step's code is accepted (one step of clock skew).
    const ahead = await api.post('/v1/auth/mfa', {
      challenge: second.challenge,
      code: totpCodeAt(person.secret, clock.now() + 30_000),
    })
    expect(ahead.status).toBe(200)
  })

  it('refuses codes two steps away, a tampered challenge and a malformed body', async () => {
    const person = await enrolled()
    nextStep()
    const mfa = await challengeFor(person)
    const far = await api.post('/v1/auth/mfa', {
      challenge: mfa.challenge,
      code: totpCodeAt(person.secret, clock.now() + 90_000),
    })
    expect(far.body.code).toBe('mfa_code_invalid')
    const tampered = await api.post('/v1/auth/mfa', {
      challenge: `${mfa.challenge.slice(0, -2)}xx`,
      code: totpCodeAt(person.secret, clock.now()),
    })
    expect(tampered.status).toBe(401)
    expect(tampered.body.code).toBe('mfa_challenge_invalid')
    const both = await api.post('/v1/auth/mfa', {
      challenge: mfa.challenge,
      code: '123456',
      recoveryCode: person.recoveryCodes[0],
    })
    expect(both.status).toBe(422)
    expect(both.headers.get('content-type')).toContain('application/problem+json')
  })

  it('ends a challenge once its time is up', async () => {
    const person = await enrolled()
    nextStep()
    const mfa = await challengeFor(person)
    clock.offset += 6 * 60_000
    const late = await api.post('/v1/auth/mfa', {
      challenge: mfa.challenge,
      code: totpCodeAt(person.secret, clock.now()),
    })
    expect(late.body.code).toBe('mfa_challenge_invalid')
  })

  it('throttles wrong codes like wrong passwords', async () => {
    const person = await enrolled()
    nextStep()
    const mfa = await challengeFor(person)
    const right = totpCodeAt(person.secret, clock.now())
    const wrong = right === '111111' ? '222222' : '111111'
    // The password counted once; four wrong codes reach the limit of five per address and account.
    for (let i = 0; i < 4; i++) {
      const res = await api.post('/v1/auth/mfa', { challenge: mfa.challenge, code: wrong })
      expect(res.body.code).toBe('mfa_code_invalid')
    }
    const locked = await api.post('/v1/auth/mfa', { challenge: mfa.challenge, code: right })
    expect(locked.status).toBe(429)
    expect(locked.body.code).toBe('login_locked')
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})

describe('recovery codes', () => {
  it('each signs in once', async () => {
    const person = await enrolled()
    const [code] = person.recoveryCodes
    const first = await challengeFor(person)
    // Typed in lower case without dashes: still the same code.
    const typed = code?.toLowerCase().replaceAll('-', '')
    const used = await api.post('/v1/auth/mfa', { challenge: first.challenge, recoveryCode: typed })
    expect(used.status).toBe(200)
    const status = await api.get('/v1/me/mfa', used.body.session.token)
    expect(status.body.recoveryCodesRemaining).toBe(9)
    const second = await challengeFor(person)
    const reused = await api.post('/v1/auth/mfa', {
      challenge: second.challenge,
      recoveryCode: code,
    })
    expect(reused.status).toBe(401)
    expect(reused.body.code).toBe('mfa_code_invalid')
    // Another person's code is not this person's.
    const other = await enrolled()
    const foreign = await api.post('/v1/auth/mfa', {
      challenge: second.challenge,
      recoveryCode: other.recoveryCodes[0],
    })
    expect(foreign.body.code).toBe('mfa_code_invalid')
  })

  it('are replaced by a new set, and the factor can be removed with a code', async () => {
    const person = await enrolled()
    nextStep()
    const renewed = await api.post(
      '/v1/me/mfa/recovery-codes',
      { code: totpCodeAt(person.secret, clock.now()) },
      person.session,
    )
    expect(renewed.status).toBe(200)
    expect(renewed.body.recoveryCodes).toHaveLength(10)
    const old = await challengeFor(person)
    const stale = await api.post('/v1/auth/mfa', {
      challenge: old.challenge,
      recoveryCode: person.recoveryCodes[1],
    })
    expect(stale.body.code).toBe('mfa_code_invalid')
    const removed = await api.post(
      '/v1/me/mfa/totp/remove',
      { recoveryCode: renewed.body.recoveryCodes[0] },
      person.session,
    )
    expect(removed.status).toBe(204)
    const plain = await api.post('/v1/auth/login', {
      email: person.email,
      password: person.password,
    })
    expect(plain.body.session.token).toBeTruthy()
  })
})

describe('MFA required by the organization', () => {
  it('is switched on by the owner from a session that used a factor', async () => {
    const person = await enrolled()
    // The session from sign-up used no factor: it cannot require one.
    const early = await api.put('/v1/org/mfa', { required: true }, person.session)
    expect(early.status).toBe(403)
    expect(early.body.code).toBe('step_up_required')
    nextStep()
    const session = await sessionWithFactor(person)
    const on = await api.put('/v1/org/mfa', { required: true }, session)
    expect(on.status).toBe(200)
    expect(on.body).toEqual({ required: true })
    expect((await api.get('/v1/org/mfa', session)).body).toEqual({ required: true })
    // Sessions without a second factor lose every power at once, on this instance and others.
    const old = await api.get('/v1/keys', person.session)
    expect(old.status).toBe(401)
    expect(old.body.code).toBe('mfa_required')
    expect((await client(stack.another()).get('/v1/keys', person.session)).body.code).toBe(
      'mfa_required',
    )
    expect((await api.get('/v1/keys', session)).status).toBe(200)
    // Removing the only factor is refused while one is required.
    const remove = await api.post(
      '/v1/me/mfa/totp/remove',
      { recoveryCode: person.recoveryCodes[0] },
      session,
    )
    expect(remove.status).toBe(409)
  })

  it('sends a person without a factor to enrolment, with no power before it', async () => {
    const person = await enrolled()
    nextStep()
    const session = await sessionWithFactor(person)
    expect((await api.put('/v1/org/mfa', { required: true }, session)).status).toBe(200)

    // The operator's break-glass removes the factor (the person lost their phone and codes).
    const reset = await resetSecondFactor(stack.deps, person.email)
    expect(reset).toMatchObject({ userId: person.userId, had: true })
    await stack.deps.audit.flush()
    const events = await api.get('/v1/audit?action=auth.mfa.reset', session)
    expect(events.body.items).toHaveLength(1)
    expect(events.body.items[0]).toMatchObject({
      actor: { type: 'system', id: 'operator' },
      target: { type: 'user', id: person.userId },
    })

    const enrol = await challengeFor(person)
    expect(enrol).toMatchObject({ purpose: 'enrol', methods: ['totp'] })
    // Nothing but enrolment: the challenge is no session, and a recovery code is no way in.
    expect((await api.get('/v1/keys', enrol.challenge)).status).toBe(401)
    const viaCode = await api.post('/v1/auth/mfa', {
      challenge: enrol.challenge,
      recoveryCode: person.recoveryCodes[0],
    })
    expect(viaCode.body.code).toBe('mfa_code_invalid')
    const seed = await api.post('/v1/auth/mfa/totp', { challenge: enrol.challenge })
    expect(seed.status).toBe(200)
    nextStep()
    const done = await api.post('/v1/auth/mfa', {
      challenge: enrol.challenge,
      code: totpCodeAt(seed.body.secret, clock.now()),
    })
    expect(done.status).toBe(200)
    expect(done.body.recoveryCodes).toHaveLength(10)
    expect((await api.get('/v1/keys', done.body.session.token)).status).toBe(200)
  })

  it('applies to every member: an admin cannot change it, and is sent to enrolment', async () => {
    const owner = await enrolled()
    const admin = await addTeammate(api, owner.session, 'admin')
    const refused = await api.put('/v1/org/mfa', { required: true }, admin.session)
    expect(refused.status).toBe(403)
    expect(refused.body.code).toBe('insufficient_scope')

    nextStep()
    const session = await sessionWithFactor(owner)
    expect((await api.put('/v1/org/mfa', { required: true }, session)).status).toBe(200)
    // The admin's session used no factor: it stops in this organization, not in their own.
    expect((await api.get('/v1/keys', admin.session)).body.code).toBe('mfa_required')
    expect((await api.get('/v1/keys', admin.home)).status).toBe(200)
    const login = await api.post('/v1/auth/login', {
      email: admin.email,
      password: admin.password,
      organization: owner.tenantId,
    })
    expect(login.body.session).toBeUndefined()
    expect(login.body.mfa.purpose).toBe('enrol')
    const seed = await api.post('/v1/auth/mfa/totp', { challenge: login.body.mfa.challenge })
    const done = await api.post('/v1/auth/mfa', {
      challenge: login.body.mfa.challenge,
      code: totpCodeAt(seed.body.secret, clock.now()),
    })
    expect(done.status).toBe(200)
    const me = await api.get('/v1/me', done.body.session.token)
    expect(me.body.tenantId).toBe(owner.tenantId)
    expect((await api.get('/v1/keys', done.body.session.token)).status).toBe(200)
  })

  it('is the owner’s to change, and access tokens are not sessions', async () => {
    const person = await enrolled()
    const token = (
      await api.post(
        '/v1/tokens',
        { name: 'ci', scopes: ['org:write'], expiresIn: 600, environment: 'production' },
        person.session,
      )
    ).body.token as string
    const res = await api.put('/v1/org/mfa', { required: true }, token)
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('insufficient_scope')
  })
})

describe('step-up', () => {
  it('asks a person with a factor for it, next to the password', async () => {
    const person = await enrolled()
    const { principal } = await stack.deps.authenticator.authenticate(person.session)
    await expect(
      stack.deps.accounts.reauthenticate(principal, { password: person.password }),
    ).rejects.toMatchObject({ code: 'mfa_code_invalid' })
    nextStep()
    const result = await stack.deps.accounts.reauthenticate(principal, {
      password: person.password,
      code: totpCodeAt(person.secret, clock.now()),
    })
    expect('session' in result && result.session.token).toBeTruthy()
    // The old session is revoked; the new one carries the factor's time.
    expect((await api.get('/v1/me', person.session)).body.code).toBe('token_revoked')
    const token = 'session' in result ? result.session.token : ''
    const renewed = await stack.deps.authenticator.authenticate(token)
    expect(renewed.principal.mfaAt).toBeTruthy()
  })
})

describe('npm run reset-mfa', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/reset-mfa.ts', ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        KEYSTASH_DYNAMODB_ENDPOINT: stack.table.endpoint,
        KEYSTASH_KMS_ENDPOINT: stack.kms.url,
        KEYSTASH_STS_ENDPOINT: stack.kms.url,
        KEYSTASH_TABLE: stack.table.tableName,
        AWS_REGION: 'us-east-1',
        KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
        // The operator's own credentials; the local services take these.
        AWS_ACCESS_KEY_ID: DEV_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: DEV_CREDENTIALS.secretAccessKey,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    }).then(
      (out) => ({ code: 0, ...out }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    )

  it('removes a person’s factor from the operator’s shell, audited', {
    timeout: 60_000,
  }, async () => {
    const person = await enrolled()
    expect((await challengeFor(person)).purpose).toBe('verify')
    const done = await run([person.email.toUpperCase()])
    expect(done.stderr).toBe('')
    expect(done.code).toBe(0)
    expect(done.stdout).toContain(`second factor removed for ${person.email}`)
    const plain = await api.post('/v1/auth/login', {
      email: person.email,
      password: person.password,
    })
    expect(plain.body.session.token).toBeTruthy()
    const events = await api.get('/v1/audit?action=auth.mfa.reset', plain.body.session.token)
    expect(events.body.items).toHaveLength(1)
    expect(events.body.items[0].details).toEqual({ hadSecondFactor: true })

    const unknown = await run(['nobody@example.com'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('no account has the e-mail address')
    const usage = await run([])
    expect(usage.stderr).toContain('usage: npm run reset-mfa -- <email>')
  })
})

describe('passkeys over the API', () => {
  it('need a public URL with a host name, not an address', async () => {
    const person = await signup(api)
    const res = await api.post('/v1/me/mfa/passkeys/options', {}, person.session)
    expect(res.status).toBe(400)
    expect(res.body.detail).toContain('KEYSTASH_PUBLIC_URL')
  })

  it('refuse a forged registration, and each registration challenge serves once', async () => {
    const vault = client(stack.another({ KEYSTASH_PUBLIC_URL: 'https://vault.example.com' }))
    const person = await signup(vault)
    const options = await vault.post('/v1/me/mfa/passkeys/options', {}, person.session)
    expect(options.status).toBe(200)
    expect(options.body.rp).toEqual({ id: 'vault.example.com', name: 'Keystash' })
    expect(options.body.challenge).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    const forged = {
      name: 'forged',
      response: {
        id: 'AAAA',
        rawId: 'AAAA',
        type: 'public-key',
        response: { clientDataJSON: 'e30', attestationObject: 'oA' },
        clientExtensionResults: {},
      },
    }
    const refused = await vault.post('/v1/me/mfa/passkeys', forged, person.session)
    expect(refused.status).toBe(401)
    expect(refused.body.code).toBe('mfa_code_invalid')
    const again = await vault.post('/v1/me/mfa/passkeys', forged, person.session)
    expect(again.status).toBe(409)
    const state = await vault.get('/v1/me/mfa', person.session)
    expect(state.body.passkeys).toEqual([])
    // Nothing was registered: login still gives a session at once.
    const login = await vault.post('/v1/auth/login', {
      email: person.email,
      password: person.password,
    })
    expect(login.body.session).toBeDefined()
  })
})
