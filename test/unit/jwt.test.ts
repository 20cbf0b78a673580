import { base64url, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { type IssueTokenInput, issueToken, verifyToken } from '../../src/auth/jwt.ts'
import {
  createInMemorySigningKeySealer,
  createInMemorySigningKeyStore,
} from '../../src/auth/signing-key-store.ts'
import { createSigningKeyRing, type SigningKeyRing } from '../../src/auth/signing-keys.ts'
import { AppError } from '../../src/errors.ts'

// A remembered token is answered at once (and refused at once): as a promise here either way.
const verified = async (...args: Parameters<typeof verifyToken>) => verifyToken(...args)

const ISSUER = 'https://keystash.test'
const AUDIENCE = 'keystash'
const MAX_LIFETIME = 3600
const GRACE = 60
const verifyOptions = { issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 30 }

function manualClock(start = Date.UTC(2030, 0, 1)) {
  let now = start
  return {
    now: () => now,
    advance(seconds: number) {
      now += seconds * 1000
    },
  }
}

async function setup() {
  const clock = manualClock()
  const store = createInMemorySigningKeyStore()
  const sealer = createInMemorySigningKeySealer()
  const ring = await createSigningKeyRing({
    store,
    sealer,
    clock,
    maxTokenLifetimeSeconds: MAX_LIFETIME,
    retentionGraceSeconds: GRACE,
  })
  const claims = (over: Partial<IssueTokenInput> = {}): IssueTokenInput => ({
    issuer: ISSUER,
    audience: AUDIENCE,
    kind: 'access',
    tokenId: 'tok_1',
    tenantId: 'org_1',
    subject: 'tok_1',
    scopes: ['keys:read', 'keys:list'],
    keys: ['openai-*'],
    environment: 'production',
    expiresAt: new Date(clock.now() + 600_000),
    ...over,
  })
  return { clock, store, sealer, ring, claims }
}

async function rejection(ring: SigningKeyRing, token: string, options = verifyOptions) {
  const error = await verified(ring, token, options).then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`)
  // Whatever failed, the message never quotes the token or any of its parts.
  for (const part of token.split('.').filter((p) => p.length > 8)) {
    expect(error.message).not.toContain(part)
  }
  return error
}

async function expectInvalid(ring: SigningKeyRing, token: string, reason: RegExp) {
  const error = await rejection(ring, token)
  expect(error.code).toBe('invalid_token')
  expect(error.status).toBe(401)
  expect(error.headers['WWW-Authenticate']).toBe('Bearer error="invalid_token"')
  expect(error.detail).toMatch(reason)
}

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value))
const payloadOf = (token: string) =>
  JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1] ?? '')))

describe('issueToken and verifyToken', () => {
  it('round-trips an access token into its principal', async () => {
    const { ring, claims } = await setup()
    const token = await issueToken(ring, claims())
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', typ: 'JWT' })
    const principal = await verified(ring, token, verifyOptions)
    expect(principal).toEqual({
      kind: 'access',
      tokenId: 'tok_1',
      tenantId: 'org_1',
      scopes: ['keys:read', 'keys:list'],
      keys: ['openai-*'],
      environment: 'production',
      expiresAt: claims().expiresAt,
      signedBy: decodeProtectedHeader(token).kid,
    })
    expect(payloadOf(token)).toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
      jti: 'tok_1',
      tid: 'org_1',
    })
  })

  it('round-trips a session with its user and no environment', async () => {
    const { ring, claims } = await setup()
    const session = claims({
      kind: 'session',
      subject: 'usr_1',
      environment: undefined,
      keys: undefined,
    })
    const principal = await verified(ring, await issueToken(ring, session), verifyOptions)
    expect(principal).toMatchObject({ kind: 'session', userId: 'usr_1' })
    expect(principal.environment).toBeUndefined()
    expect(principal.keys).toBeUndefined()
  })

  it('refuses to issue beyond the ring maximum lifetime or already expired', async () => {
    const { ring, claims, clock } = await setup()
    const tooLong = claims({ expiresAt: new Date(clock.now() + (MAX_LIFETIME + 1) * 1000) })
    await expect(issueToken(ring, tooLong)).rejects.toMatchObject({ code: 'validation_failed' })
    const past = claims({ expiresAt: new Date(clock.now() - 1000) })
    await expect(issueToken(ring, past)).rejects.toMatchObject({ code: 'validation_failed' })
  })

  it('rejects alg "none"', async () => {
    const { ring, claims } = await setup()
    const { kid } = await ring.signingKey()
    const payload = payloadOf(await issueToken(ring, claims()))
    const unsigned = `${encodeJson({ alg: 'none', typ: 'JWT', kid })}.${encodeJson(payload)}.`
    await expectInvalid(ring, unsigned, /algorithm|malformed/)
  })

  it('rejects HS256 signed with the public key as the HMAC secret', async () => {
    const { ring, claims } = await setup()
    const payload = payloadOf(await issueToken(ring, claims()))
    const { keys } = await ring.jwks()
    const published = keys[0]
    if (published === undefined) throw new Error('no published key')
    const secrets = [
      base64url.decode(published.x),
      new TextEncoder().encode(JSON.stringify(published)),
    ]
    for (const secret of secrets) {
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: published.kid })
        .sign(secret)
      await expectInvalid(ring, forged, /algorithm is not accepted/)
    }
  })

  it('rejects another issuer and another audience', async () => {
    const { ring, claims } = await setup()
    await expectInvalid(ring, await issueToken(ring, claims({ issuer: 'https://evil' })), /"iss"/)
    await expectInvalid(ring, await issueToken(ring, claims({ audience: 'other-api' })), /"aud"/)
  })

  it('rejects a tampered payload', async () => {
    const { ring, claims } = await setup()
    const [header, payload, signature] = (await issueToken(ring, claims())).split('.')
    const widened = { ...JSON.parse(new TextDecoder().decode(base64url.decode(payload ?? ''))) }
    widened.scope = 'keys:read keys:list org:admin'
    await expectInvalid(ring, `${header}.${encodeJson(widened)}.${signature}`, /signature/)
  })

  it('rejects an unknown kid and a token from another ring', async () => {
    const { ring, claims } = await setup()
    const other = await setup()
    await expectInvalid(ring, await issueToken(other.ring, other.claims()), /unknown key/)

    // Another ring's private key, presenting this ring's kid: the signature must not verify.
    const { kid } = await ring.signingKey()
    const { privateKey } = await other.ring.signingKey()
    const payload = payloadOf(await issueToken(ring, claims()))
    const forged = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
      .sign(privateKey)
    await expectInvalid(ring, forged, /signature/)

    const noKid = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .sign(privateKey)
    await expectInvalid(ring, noKid, /unknown key/)
  })

  it('rejects a correctly signed token that lacks a required claim', async () => {
    const { ring, claims } = await setup()
    const { kid, privateKey } = await ring.signingKey()
    const { tid: _dropped, ...payload } = payloadOf(await issueToken(ring, claims()))
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
      .sign(privateKey)
    await expectInvalid(ring, token, /"tid"/)
  })

  it('rejects garbage and oversized input without echoing it', async () => {
    const { ring } = await setup()
    await expectInvalid(ring, 'not-a-jwt', /malformed/)
    await expectInvalid(ring, 'a'.repeat(10_000), /malformed/)
  })

  it('honours clock tolerance exactly at expiry', async () => {
    const { ring, claims, clock } = await setup()
    const token = await issueToken(ring, claims({ expiresAt: new Date(clock.now() + 600_000) }))
    clock.advance(600 + 29)
    await expect(verified(ring, token, verifyOptions)).resolves.toMatchObject({
      tokenId: 'tok_1',
    })
    clock.advance(1)
    const error = await rejection(ring, token)
    expect(error.code).toBe('token_expired')
    expect(error.status).toBe(401)
    expect(error.headers['WWW-Authenticate']).toContain('error="invalid_token"')
  })
})

describe('signing key ring', () => {
  it('keeps old tokens valid and the old key published after rotate(), until they expire', async () => {
    const { ring, claims, clock, store } = await setup()
    const fullLife = () => claims({ expiresAt: new Date(clock.now() + MAX_LIFETIME * 1000) })
    const oldToken = await issueToken(ring, fullLife())
    const oldKid = decodeProtectedHeader(oldToken).kid
    clock.advance(1)
    const retiredAt = clock.now()

    const newKid = await ring.rotate()
    const newToken = await issueToken(ring, fullLife())
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid)
    expect(newKid).not.toBe(oldKid)
    await expect(verified(ring, oldToken, verifyOptions)).resolves.toBeDefined()
    await expect(verified(ring, newToken, verifyOptions)).resolves.toBeDefined()
    const stored = await store.list()
    expect(stored.find((k) => k.kid === oldKid)?.retiredAt).toEqual(new Date(retiredAt))
    const kids = async () => (await ring.jwks()).keys.map((k) => k.kid)
    expect(await kids()).toEqual([oldKid, newKid])

    // The ring reloads from the store along the way; the recorded retirement must survive it.
    clock.advance(MAX_LIFETIME + GRACE - 1)
    expect(await kids()).toEqual([oldKid, newKid])
    clock.advance(1)
    expect(clock.now()).toBe(retiredAt + (MAX_LIFETIME + GRACE) * 1000)
    expect(await kids()).toEqual([newKid])
    // Its key is gone, so it fails the signature step before the expiry check is reached.
    await expect(verified(ring, oldToken, verifyOptions)).rejects.toMatchObject({
      code: 'invalid_token',
    })
    await expect(
      verified(ring, await issueToken(ring, fullLife()), verifyOptions),
    ).resolves.toBeDefined()
  })

  it('publishes public JWKs only, with kid, alg and use', async () => {
    const { ring } = await setup()
    const { keys } = await ring.jwks()
    expect(keys).toHaveLength(1)
    expect(Object.keys(keys[0] ?? {}).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x'])
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
  })

  it('stores the private key sealed, never as the plaintext JWK', async () => {
    const { ring, store, sealer } = await setup()
    const [stored] = await store.list()
    if (stored === undefined) throw new Error('no stored key')
    const opened = await sealer.open(stored.sealedPrivateKey, { kid: stored.kid })
    const privateJwk = JSON.parse(new TextDecoder().decode(opened))
    expect(typeof privateJwk.d).toBe('string')
    const everything = JSON.stringify(stored)
    expect(everything).not.toContain(privateJwk.d)
    expect(everything).not.toContain('"d"')
    // Bound to its kid: the same sealed bytes do not open as another key.
    await expect(sealer.open(stored.sealedPrivateKey, { kid: 'other' })).rejects.toThrow()
    const { privateKey } = await ring.signingKey()
    expect(privateKey.extractable).toBe(false)
    await expect(exportJWK(privateKey)).rejects.toThrow()
  })

  it('lets another instance verify a key it has not loaded yet, and sign with it after reload', async () => {
    const { ring, claims, store, sealer, clock } = await setup()
    const options = { store, sealer, clock, maxTokenLifetimeSeconds: MAX_LIFETIME }
    const peer = await createSigningKeyRing(options)
    expect((await peer.signingKey()).kid).toBe((await ring.signingKey()).kid)

    clock.advance(10)
    const newKid = await ring.rotate()
    const token = await issueToken(ring, claims())
    await expect(verified(peer, token, verifyOptions)).resolves.toBeDefined()
    await peer.reload()
    expect((await peer.signingKey()).kid).toBe(newKid)
  })

  it('rotates by itself once the signer is older than rotateAfterSeconds', async () => {
    const { store, sealer, clock } = await setup()
    const options = { store, sealer, clock, maxTokenLifetimeSeconds: MAX_LIFETIME }
    const ring = await createSigningKeyRing({ ...options, rotateAfterSeconds: 86_400 })
    const first = (await ring.signingKey()).kid
    clock.advance(86_399)
    expect((await ring.signingKey()).kid).toBe(first)
    clock.advance(1)
    expect((await ring.signingKey()).kid).not.toBe(first)
    expect((await store.list()).find((k) => k.kid === first)?.retiredAt).toEqual(
      new Date(clock.now()),
    )
  })

  it('does not verify a token signed by a generated key that was never in the ring', async () => {
    const { ring, claims } = await setup()
    const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    const payload = payloadOf(await issueToken(ring, claims()))
    const forged = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: 'stranger' })
      .sign(stranger.privateKey)
    await expectInvalid(ring, forged, /unknown key/)
  })
})
