import { createOffThreadAuditRecorder } from '../audit/off-thread.ts'
import { createAuditLog } from '../audit/service.ts'
import { createAuditRecorder } from '../audit/writer.ts'
import { createAuditStore } from '../storage/audit-store.ts'
import type { BaseWiring } from './wiring.ts'

export type AuditWiring = BaseWiring

/**
 * The audit trail, wired (part of the composition root, deps.ts): the recorder every service
 * writes through (on this thread or a worker's, per `KEYSTASH_AUDIT_WRITER`) and the log the
 * /v1/audit routes read.
 */
export function buildAudit({ doc, table, config, clock, logger, metrics }: AuditWiring) {
  const auditStore = createAuditStore({ doc, table, retentionDays: config.audit.retentionDays })
  const audit =
    config.audit.writer === 'thread' && config.audit.mode !== 'off'
      ? createOffThreadAuditRecorder({
          config,
          clock,
          logger,
          ...(metrics ? { observe: metrics.audit } : {}),
        })
      : createAuditRecorder({
          mode: config.audit.mode,
          store: auditStore,
          clock,
          logger,
          ...(metrics ? { observe: metrics.audit } : {}),
        })
  const auditLog = createAuditLog({
    store: auditStore,
    audit,
    clock,
    retentionDays: config.audit.retentionDays,
  })
  return { audit, auditLog }
}
