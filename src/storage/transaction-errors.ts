import { TransactionCanceledException } from '@aws-sdk/client-dynamodb'

/** Whether a transaction was cancelled with `reason` among its cancellation reasons. */
export const cancelledFor = (
  error: unknown,
  reason: 'ConditionalCheckFailed' | 'TransactionConflict',
): boolean =>
  error instanceof TransactionCanceledException &&
  (error.CancellationReasons ?? []).some((r) => r.Code === reason)
