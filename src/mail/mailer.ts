import nodemailer from 'nodemailer'
import type { Config } from '../config.ts'

export interface MailMessage {
  to: string
  subject: string
  text: string
}

/** Outgoing mail. `configured` false: nothing can be sent, and callers say so instead. */
export interface Mailer {
  readonly configured: boolean
  send(message: MailMessage): Promise<void>
}

/**
 * Mail through the operator's SMTP server (`KEYSTASH_SMTP_URL`, e.g.
 * `smtps://user:password@smtp.example.com`), from `KEYSTASH_MAIL_FROM`. Messages carry
 * one-time links: they are never logged, and a failure is reported without its message.
 */
export function createMailer(config: Pick<Config, 'mail'>): Mailer {
  const { smtpUrl, from } = config.mail
  if (!smtpUrl) return noMailer
  const transport = nodemailer.createTransport(smtpUrl)
  return {
    configured: true,
    async send(message) {
      await transport.sendMail({ from, ...message })
    },
  }
}

export const noMailer: Mailer = {
  configured: false,
  send: () => Promise.reject(new Error('no SMTP server is configured')),
}
