import { newId } from '../ids.ts'
import type { EventData, EventType, OutboxEvent } from './catalog.ts'

/** An event that happened at `now` (milliseconds), ready for the outbox. */
export function newEvent(
  tenantId: string,
  type: EventType,
  data: EventData,
  now: number,
): OutboxEvent {
  return {
    tenantId,
    eventId: newId('evt', now),
    type,
    occurredAt: new Date(now).toISOString(),
    data,
  }
}
