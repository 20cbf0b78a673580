import { OpenAPIHono, type z } from '@hono/zod-openapi'
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
      throw validationFailed((result.error as { issues: ValidationIssue[] }).issues)
    },
  })
}

/**
 * Validates in a handler what a route's `request` would: the same schema, the same 422. For
 * the hot path, where one synchronous parse costs less than the async validator middlewares.
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value)
  if (!result.success) throw validationFailed(result.error.issues as ValidationIssue[])
  return result.data
}

function validationFailed(issues: ValidationIssue[]): AppError {
  const errors = issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }))
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ')
  return new AppError('validation_failed', summary, { extra: { errors } })
}

export type Router = ReturnType<typeof createRouter>
