import {
  type DynamoDBDocumentClient,
  paginateQuery,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb'

/**
 * The pages of a Query, each read once the previous one is handled (lib-dynamodb's
 * `paginateQuery` follows `LastEvaluatedKey`). `pageSize` sets each page's `Limit`.
 */
export function queryPages(
  doc: Pick<DynamoDBDocumentClient, 'send'>,
  input: QueryCommandInput,
  pageSize?: number,
): AsyncIterable<QueryCommandOutput> {
  // The paginator only calls `send`: a client narrowed to it (as repositories take it) will do.
  const client = doc as DynamoDBDocumentClient
  return paginateQuery({ client, ...(pageSize ? { pageSize } : {}) }, input)
}

/** Every item a Query matches, across all its pages. */
export async function queryAll(
  doc: Pick<DynamoDBDocumentClient, 'send'>,
  input: QueryCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = []
  for await (const page of queryPages(doc, input)) if (page.Items) items.push(...page.Items)
  return items
}

/**
 * One page of a filtered listing: up to `limit` matching items from `input.ExclusiveStartKey`.
 * A filter applies after DynamoDB reads a page, so pages are read until `limit` items matched
 * or the query ends; each asks for no more items than are still missing, so the last key read
 * is exactly where the next page starts (`lastKey`, undefined at the end).
 */
export async function queryFilledPage(
  doc: Pick<DynamoDBDocumentClient, 'send'>,
  input: QueryCommandInput,
  limit: number,
): Promise<{ items: Record<string, unknown>[]; lastKey: Record<string, unknown> | undefined }> {
  const items: Record<string, unknown>[] = []
  let startKey = input.ExclusiveStartKey
  do {
    const page = await doc.send(
      new QueryCommand({ ...input, Limit: limit - items.length, ExclusiveStartKey: startKey }),
    )
    if (page.Items) items.push(...page.Items)
    startKey = page.LastEvaluatedKey
  } while (startKey && items.length < limit)
  return { items, lastKey: startKey }
}
