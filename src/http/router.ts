import { OpenAPIHono } from '@hono/zod-openapi'
import { AppError } from '../errors.ts'
import type { AppEnv } from './env.ts'

interface ValidationIssue {
  path: PropertyKey[]
  message: string
  code?: string
}

/**
 * Every sub-app is an OpenAPIHono whose validation failures become one problem+json shape:
 * 422 `validation_failed` with the list of offending fields. Messages name the field and the
 * rule, never the value that was sent (it may be a secret).
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return
      const issues = (result.error as { issues: ValidationIssue[] }).issues
      const errors = issues.map((issue) => ({
        field: issue.path.map(String).join('.') || '(body)',
        message: issue.message,
      }))
      const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ')
      throw new AppError('validation_failed', summary, { extra: { errors } })
    },
  })
}

export type Router = ReturnType<typeof createRouter>
