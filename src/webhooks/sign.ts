import { Webhook } from 'standardwebhooks'

/**
 * The Standard Webhooks headers of one delivery attempt. During a secret's rotation overlap
 * every live secret signs, space-separated, so a receiver holding either one verifies it.
 */
export function signedHeaders(
  secrets: readonly string[],
  messageId: string,
  at: Date,
  payload: string,
): Record<string, string> {
  const signature = secrets
    .map((secret) => new Webhook(secret).sign(messageId, at, payload))
    .join(' ')
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  }
}
