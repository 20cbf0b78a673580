import type {
  DeleteCommand,
  DeleteCommandOutput,
  DynamoDBDocumentClient,
  PutCommand,
  PutCommandOutput,
  TransactWriteCommand,
  TransactWriteCommandOutput,
  UpdateCommand,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb'

/** The writes DynamoDB may refuse on a condition. */
export type ConditionalCommand = PutCommand | UpdateCommand | DeleteCommand | TransactWriteCommand

type OutputOf<C> = C extends PutCommand
  ? PutCommandOutput
  : C extends UpdateCommand
    ? UpdateCommandOutput
    : C extends DeleteCommand
      ? DeleteCommandOutput
      : TransactWriteCommandOutput

/** How DynamoDB refused a conditional write. */
export interface Refusal {
  /**
   * The writes whose condition failed, by position: `[0]` for a single Put, Update or Delete;
   * for a transaction, the failed items of `TransactItems`, none when it was cancelled for
   * another reason (only with `anyCancellation`).
   */
  failed: readonly number[]
  /**
   * DynamoDB's reason per item (`None` for those that passed): `ConditionalCheckFailed`,
   * `TransactionConflict`, ...; `['ConditionalCheckFailed']` for a single item.
   */
  reasons: readonly string[]
  /** The SDK's error, for a caller that rethrows after all. */
  error: Error
}

export interface ConditionalWriteOptions {
  /**
   * Count a transaction cancelled for any reason (a conflicting transaction, too) as refused,
   * for writes where any cancellation means another writer got there first. Without it only a
   * failed condition is, and everything else is rethrown.
   */
  anyCancellation?: boolean
}

/**
 * Why the write was refused, or undefined when `error` is no refusal. Errors are told apart by
 * name rather than by class, so one thrown by a second copy of the SDK still matches.
 */
function refusalOf(
  error: unknown,
  { anyCancellation = false }: ConditionalWriteOptions,
): Refusal | undefined {
  if (!(error instanceof Error)) return undefined
  if (error.name === 'ConditionalCheckFailedException') {
    return { failed: [0], reasons: ['ConditionalCheckFailed'], error }
  }
  if (error.name !== 'TransactionCanceledException') return undefined
  const cancellation = error as { CancellationReasons?: { Code?: string }[] }
  const reasons = (cancellation.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None')
  const failed = reasons.flatMap((code, index) =>
    code === 'ConditionalCheckFailed' ? [index] : [],
  )
  return failed.length > 0 || anyCancellation ? { failed, reasons, error } : undefined
}

/**
 * Sends a conditional write and answers its output; when DynamoDB refuses it, answers what
 * `refused` returns (or throws: the caller's own error). Any other failure is rethrown.
 */
export async function sendConditional<C extends ConditionalCommand, T>(
  doc: DynamoDBDocumentClient,
  command: C,
  refused: (refusal: Refusal) => T,
  options: ConditionalWriteOptions = {},
): Promise<OutputOf<C> | T> {
  try {
    // send's overloads take one command class at a time, not a union of them.
    return (await doc.send(command as PutCommand)) as OutputOf<C>
  } catch (error) {
    const refusal = refusalOf(error, options)
    if (!refusal) throw error
    return refused(refusal)
  }
}

/** True once written, false when DynamoDB refused the write (see `sendConditional`). */
export const writeIf = (
  doc: DynamoDBDocumentClient,
  command: ConditionalCommand,
  options: ConditionalWriteOptions = {},
): Promise<boolean> =>
  sendConditional(doc, command, () => false as const, options).then((result) => result !== false)
