import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpCodeAt } from '../../src/auth/totp.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { startWebhookReceiver } from '../support/webhook-receiver.ts'

/**
 * Security invariant 1: a key value appears only in the request that stores it and the
 * response that reveals it. Never in a log line at any level, an error body, a DynamoDB item,
 * or anything else the server keeps.
 */
const CANARY = 'sk-CANARY-3f9a1c0e-plaintext-must-not-leak'
const CANARY_V2 = 'sk-CANARY-v2-7d1e4b22-plaintext-must-not-leak'
const CANARY_BYTES = [CANARY, CANARY_V2].map((c) => Buffer.from(c, 'utf8'))

let stack: Stack
beforeAll(async () => {
  // Local receivers: the webhook test below delivers to one on 127.0.0.1.
  stack = await startStack({ env: { LOG_LEVEL: 'trace', KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' } })
})
afterAll(() => stack?.close())

/** Every attribute of every item, strings and binaries alike, as one searchable buffer. */
async function tableBytes(): Promise<Buffer> {
  const chunks: Buffer[] = []
  let start: Record<string, unknown> | undefined
  do {
    const page = await stack.table.doc.send(
      new ScanCommand({ TableName: stack.table.tableName, ExclusiveStartKey: start }),
    )
    const walk = (value: unknown): void => {
      if (value instanceof Uint8Array) chunks.push(Buffer.from(value))
      else if (typeof value === 'string') chunks.push(Buffer.from(value, 'utf8'))
      else if (value && typeof value === 'object') for (const v of Object.values(value)) walk(v)
    }
    for (const item of page.Items ?? []) walk(item)
    start = page.LastEvaluatedKey
  } while (start)
  return Buffer.concat(chunks)
}

/** The members of every string set in the table (tableBytes sees only strings and binaries). */
async function scanSets(): Promise<string[]> {
  const found: string[] = []
  let start: Record<string, unknown> | undefined
  do {
    const page = await stack.table.doc.send(
      new ScanCommand({ TableName: stack.table.tableName, ExclusiveStartKey: start }),
    )
    for (const item of page.Items ?? []) {
      for (const value of Object.values(item))
        if (value instanceof Set) found.push(...[...value].map(String))
    }
    start = page.LastEvaluatedKey
  } while (start)
  return found
}

/** RFC 4648 base32 to bytes (the TOTP seed's raw form). */
function base32Bytes(text: string): number[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  const out: number[] = []
  for (const char of text.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(char)
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255)
      bits -= 8
    }
  }
  return out
}

describe('plaintext never leaks', () => {
  it('is absent from logs, error bodies and stored items, through a whole key lifecycle', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const reader = (
      await api.post(
        '/v1/tokens',
        { name: 'r', scopes: ['keys:read', 'keys:list'], expiresIn: 600 },
        session,
      )
    ).body.token
    const errors: string[] = []
    const note = <T extends { status: number; body: unknown }>(res: T): T => {
      if (res.status >= 400) errors.push(JSON.stringify(res.body))
      return res
    }

    expect(
      note(await api.post('/v1/keys', { name: 'canary', value: CANARY }, session)).status,
    ).toBe(201)
    const read = note(await api.get('/v1/keys/canary/value', reader))
    expect(read.body.value).toBe(CANARY)
    expect(note(await api.put('/v1/keys/canary/value', { value: CANARY_V2 }, session)).status).toBe(
      200,
    )
    expect(note(await api.get('/v1/keys/canary/value?version=1', reader)).body.value).toBe(CANARY)
    // A re-key opens and seals every value again, in the background, with its own logging.
    expect(note(await api.post('/v1/org/encryption/rekey', {}, session)).status).toBe(202)
    await stack.deps.reencryption.idle()
    expect(note(await api.get('/v1/keys/canary/value?version=1', reader)).body.value).toBe(CANARY)

    // Requests that carry the value and fail, for every reason a request can fail.
    const failures = [
      await api.post('/v1/keys', { name: 'canary', value: CANARY }, session), // duplicate name
      await api.post('/v1/keys', { name: 'bad name', value: CANARY }, session), // validation
      await api.post('/v1/keys', { name: 'x', value: CANARY, extra: CANARY }, session), // unknown field
      await api.post('/v1/keys', `{"name":"x","value":"${CANARY}"`, session), // malformed JSON
      await api.post('/v1/keys', { name: 'x', value: CANARY }, reader), // missing scope
      await api.post('/v1/keys', { name: 'x', value: CANARY }), // no token
      await api.put('/v1/keys/nope/value', { value: CANARY }, session), // not found
      await api.post('/v1/keys', { name: 'x', value: `${CANARY}${'x'.repeat(17000)}` }, session), // too large
      await api.get(`/v1/keys/canary/value?value=${CANARY}`, reader), // in the query string
      await api.post('/v1/auth/login', { email: 'nobody@example.com', password: CANARY }),
    ]
    for (const res of failures) expect(res.status).toBeGreaterThanOrEqual(200)
    for (const res of failures) note(res)

    await stack.deps.lastUsed.settled()
    const logs = stack.logs.text()
    expect(logs.length).toBeGreaterThan(1000)
    for (const canary of [CANARY, CANARY_V2]) {
      expect(logs).not.toContain(canary)
      for (const body of errors) expect(body).not.toContain(canary)
    }
    const stored = await tableBytes()
    expect(stored.length).toBeGreaterThan(1000)
    for (const bytes of CANARY_BYTES) expect(stored.includes(bytes)).toBe(false)
    // Not even the distinctive middle part, in case of partial copies.
    expect(stored.includes(Buffer.from('3f9a1c0e'))).toBe(false)
  })

  it('never logs request bodies or secrets, even at trace level', async () => {
    const api = client(stack.app)
    const password = 'CANARY-password-never-logged'
    const { session } = await signup(api)
    await api.post('/v1/auth/signup', { email: 'canary@example.com', password })
    await api.post('/v1/auth/login', { email: 'canary@example.com', password })
    const created = await api.post(
      '/v1/tokens',
      { name: 't', scopes: ['keys:read'], expiresIn: 60 },
      session,
    )
    const logs = stack.logs.text()
    expect(logs).not.toContain(password)
    expect(logs).not.toContain(session)
    expect(logs).not.toContain(created.body.token)
    expect(logs).not.toContain(session.split('.')[2])
  })

  it('keeps values, token strings and webhook secrets out of payloads, the delivery log and storage', {
    timeout: 60_000,
  }, async () => {
    const receiver = await startWebhookReceiver()
    try {
      const api = client(stack.app)
      const { session } = await signup(api)
      const hook = await api.post('/v1/webhooks', { url: receiver.url }, session)
      const rotated = await api.post(`/v1/webhooks/${hook.body.id}/rotate-secret`, {}, session)
      const secrets = [hook.body.secret as string, rotated.body.secret as string]
      const value = 'sk-CANARY-webhook-5e0b9d71-value'
      const next = 'sk-CANARY-webhook-a1c3e5f7-next'
      await api.post(
        '/v1/keys',
        { name: 'hooked', value, expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
        session,
      )
      await api.put('/v1/keys/hooked/value', { value: next }, session)
      const token = await api.post(
        '/v1/tokens',
        { name: 't', scopes: ['keys:read'], expiresIn: 3600 },
        session,
      )
      // Reminders first: a revoked token or a deleted key has none.
      await stack.deps.reminders.runNow()
      await api.delete(`/v1/tokens/${token.body.id}`, session)
      await api.delete('/v1/keys/hooked', session)
      await api.post(`/v1/webhooks/${hook.body.id}/test`, {}, session)
      await stack.deps.outbox.runNow()

      const sent = receiver.received.map((m) => `${JSON.stringify(m.headers)}\n${m.body}`)
      const types = receiver.received.map((m) => JSON.parse(m.body).type).sort()
      expect(types).toEqual(
        [
          'key.deleted',
          'key.expiring',
          'key.version_created',
          'token.expiring',
          'token.revoked',
          'webhook.test',
        ].sort(),
      )
      const log = JSON.stringify(
        (await api.get(`/v1/webhooks/${hook.body.id}/deliveries`, session)).body,
      )
      const listed = JSON.stringify((await api.get('/v1/webhooks', session)).body)
      const stored = await tableBytes()
      const logs = stack.logs.text()
      const leaks = [value, next, token.body.token, token.body.token.split('.')[2]]
      for (const secret of secrets) leaks.push(secret, secret.slice('whsec_'.length))
      for (const leak of leaks) {
        for (const text of [...sent, log, listed, logs]) expect(text).not.toContain(leak)
        expect(stored.includes(Buffer.from(leak))).toBe(false)
      }
      // The secret's raw bytes are not stored either (it is sealed, not encoded).
      for (const secret of secrets)
        expect(stored.includes(Buffer.from(secret.slice('whsec_'.length), 'base64'))).toBe(false)
    } finally {
      await receiver.close()
    }
  })

  it('keeps TOTP seeds, recovery codes and challenges out of logs, error bodies and storage', async () => {
    const api = client(stack.app)
    const { session, email, password } = await signup(api)
    const started = await api.post('/v1/me/mfa/totp', {}, session)
    const secret = started.body.secret as string
    const confirmed = await api.post(
      '/v1/me/mfa/totp/confirm',
      { code: totpCodeAt(secret, Date.now()) },
      session,
    )
    const codes = confirmed.body.recoveryCodes as string[]
    expect(codes).toHaveLength(10)
    const errors: string[] = []
    const login = await api.post('/v1/auth/login', { email, password })
    const challenge = login.body.mfa.challenge as string
    const wrong = await api.post('/v1/auth/mfa', { challenge, recoveryCode: 'AAAA-BBBB-CCCC-DDDD' })
    errors.push(JSON.stringify(wrong.body))
    const used = await api.post('/v1/auth/mfa', { challenge, recoveryCode: codes[0] })
    expect(used.status).toBe(200)
    errors.push(
      JSON.stringify((await api.post('/v1/auth/mfa', { challenge, recoveryCode: codes[1] })).body),
    )

    const logs = stack.logs.text()
    // Set members (the hashed recovery codes) are walked too.
    const stored = Buffer.concat([
      await tableBytes(),
      Buffer.from(JSON.stringify(await scanSets()), 'utf8'),
    ])
    // The seed in every form an app or a leak could take: base32, its raw bytes, the URI.
    const raw = Buffer.from(base32Bytes(secret))
    expect(stored.includes(raw)).toBe(false)
    for (const leak of [
      secret,
      started.body.uri,
      challenge,
      ...codes,
      ...codes.map((c) => c.replaceAll('-', '')),
    ]) {
      expect(logs).not.toContain(leak)
      for (const body of errors) expect(body).not.toContain(leak)
      expect(stored.includes(Buffer.from(leak, 'utf8'))).toBe(false)
    }
    // Not a vacuous pass: the factor's items are there, sealed and hashed.
    expect(stored.includes(Buffer.from('MFA#TOTP'))).toBe(true)
    expect(stored.includes(Buffer.from('MFA#RECOVERY'))).toBe(true)
  })
})
