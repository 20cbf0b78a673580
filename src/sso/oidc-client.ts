import * as oidc from 'openid-client'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import { isOutboundRefusal, type OutboundFetch } from '../net/outbound.ts'

/** What Keystash needs of an organization's identity provider. */
export interface ProviderSettings {
  issuer: string
  clientId: string
  clientSecret: string
}

/** The ID token's claims Keystash reads, after openid-client has checked the token. */
export interface IdClaims {
  iss: string
  sub: string
  email?: string
  emailVerified: boolean
  name?: string
  /** The provider says the person used more than one factor (`amr`, RFC 8176). */
  multiFactor: boolean
}

/**
 * `amr` values (RFC 8176) that name a second factor or a multi-factor sign-in; a password
 * alone (`pwd`) or nothing at all does not count.
 */
const MULTI_FACTOR_AMR = new Set([
  'mfa',
  'otp',
  'hwk',
  'swk',
  'sc',
  'fpt',
  'face',
  'iris',
  'retina',
  'vbm',
])

export interface CallbackInput {
  /** The URL the provider sent the browser back to, rebuilt on the public URL. */
  callbackUrl: URL
  state: string
  nonce: string
  codeVerifier: string
  maxAgeSeconds?: number | undefined
}

/**
 * The OpenID Connect relying party, through `openid-client`: discovery, the authorization URL
 * (code flow with PKCE S256, `state` and `nonce`) and the code exchange, whose ID token
 * openid-client verifies (signature from the provider's JWKS, `iss`, `aud`, `exp`, `nonce`).
 * Every request goes through the outbound-request module: a tenant types the issuer, so it is
 * as untrusted as a webhook URL. Plain `http` issuers are accepted only where that module
 * allows them (development, tests, an operator's own network).
 */
export function createOidcClient({
  fetch,
  allowHttp,
  clock,
  cacheMs = 5 * 60_000,
}: {
  fetch: OutboundFetch
  allowHttp: boolean
  clock: Clock
  /** How long a provider's discovered metadata is reused. */
  cacheMs?: number
}) {
  const cache = new Map<string, { at: number; config: Promise<oidc.Configuration> }>()

  async function discover(settings: ProviderSettings): Promise<oidc.Configuration> {
    const key = JSON.stringify([settings.issuer, settings.clientId, settings.clientSecret])
    const hit = cache.get(key)
    if (hit && clock.now() - hit.at < cacheMs) return hit.config
    const config = oidc
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        undefined,
        oidc.ClientSecretPost(settings.clientSecret),
        {
          [oidc.customFetch]: fetch as oidc.CustomFetch,
          ...(allowHttp ? { execute: [oidc.allowInsecureRequests] } : {}),
        },
      )
      .then((found) => {
        found[oidc.customFetch] = fetch as oidc.CustomFetch
        return found
      })
    cache.set(key, { at: clock.now(), config })
    try {
      return await config
    } catch (error) {
      cache.delete(key)
      throw providerUnavailable(settings.issuer, error)
    }
  }

  return {
    /** Fails with `sso_provider_unavailable` when the issuer cannot be discovered. */
    discover: async (settings: ProviderSettings) => {
      await discover(settings)
    },

    async authorizationUrl(
      settings: ProviderSettings,
      input: {
        redirectUri: string
        state: string
        nonce: string
        codeVerifier: string
        /** A confirmation (step-up): the provider signs the person in again, at most this old. */
        maxAgeSeconds?: number | undefined
      },
    ): Promise<URL> {
      const config = await discover(settings)
      return oidc.buildAuthorizationUrl(config, {
        ...(input.maxAgeSeconds === undefined
          ? {}
          : { prompt: 'login', max_age: String(input.maxAgeSeconds) }),
        redirect_uri: input.redirectUri,
        response_type: 'code',
        scope: 'openid email profile',
        state: input.state,
        nonce: input.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(input.codeVerifier),
        code_challenge_method: 'S256',
      })
    },

    async exchange(settings: ProviderSettings, input: CallbackInput): Promise<IdClaims> {
      const config = await discover(settings)
      let claims: oidc.IDToken | undefined
      try {
        const tokens = await oidc.authorizationCodeGrant(config, input.callbackUrl, {
          pkceCodeVerifier: input.codeVerifier,
          expectedState: input.state,
          expectedNonce: input.nonce,
          idTokenExpected: true,
          // openid-client then requires `auth_time` and refuses a sign-in older than this.
          ...(input.maxAgeSeconds === undefined ? {} : { maxAge: input.maxAgeSeconds }),
        })
        claims = tokens.claims()
      } catch (error) {
        throw callbackFailure(settings.issuer, error)
      }
      if (!claims) throw new AppError('sso_id_token_invalid', 'The provider sent no ID token.')
      return {
        iss: claims.iss,
        sub: claims.sub,
        ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
        // Only a literal `true` counts: "true" as a string, or no claim, is not a verification.
        emailVerified: claims.email_verified === true,
        ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
        multiFactor:
          Array.isArray(claims.amr) &&
          claims.amr.some((method) => typeof method === 'string' && MULTI_FACTOR_AMR.has(method)),
      }
    },

    /** Settings changed: the next sign-in discovers the provider again. */
    forget: () => cache.clear(),
  }
}

export type OidcClient = ReturnType<typeof createOidcClient>

function providerUnavailable(issuer: string, error: unknown): AppError {
  const why = isOutboundRefusal(error)
    ? error.message
    : error instanceof oidc.ClientError || error instanceof TypeError
      ? 'its discovery document could not be read or does not match the issuer'
      : 'it did not answer as an OpenID provider'
  return new AppError('sso_provider_unavailable', `The identity provider ${issuer}: ${why}.`, {
    cause: error,
  })
}

/**
 * Why a callback failed, without repeating anything the provider sent (an error description
 * is its text, not ours). The ID token's own checks fail as `sso_id_token_invalid`.
 */
function callbackFailure(issuer: string, error: unknown): AppError {
  if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError) {
    return new AppError(
      'sso_denied',
      `The identity provider refused the sign-in (${String(error.error).slice(0, 64)}).`,
      { cause: error },
    )
  }
  if (isOutboundRefusal(error) || (error instanceof TypeError && !('code' in error))) {
    return providerUnavailable(issuer, error)
  }
  const code = (error as { code?: unknown }).code
  const reason = typeof code === 'string' ? code : 'unknown'
  return new AppError(
    'sso_id_token_invalid',
    'The ID token failed verification (signature, issuer, audience, expiry or nonce).',
    { extra: { reason }, cause: error },
  )
}
