import type { AppEnv } from '../env.ts'

/** The dashboard's pages share the API's context variables (nonce, session and CSRF included). */
export type DashboardEnv = AppEnv
