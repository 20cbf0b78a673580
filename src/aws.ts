import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { KMSClient } from '@aws-sdk/client-kms'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from './config.ts'

/**
 * Credentials the local services accept; never used against AWS. DynamoDB Local accepts only
 * letters and digits in an access key id.
 */
export const DEV_CREDENTIALS = {
  accessKeyId: 'keystashdev',
  secretAccessKey: 'keystashdevsecret',
}

export interface AwsClients {
  dynamodb: DynamoDBClient
  doc: DynamoDBDocumentClient
  kms: KMSClient
}

/**
 * The AWS SDK clients. In production they use the default credential chain (instance role,
 * environment, SSO...); in development they point at the local services with fixed local
 * credentials.
 */
export function createAwsClients(config: Pick<Config, 'mode' | 'aws'>): AwsClients {
  const local = config.mode === 'development'
  const common = {
    region: config.aws.region,
    ...(local ? { credentials: DEV_CREDENTIALS } : {}),
  }
  const dynamodb = new DynamoDBClient({
    ...common,
    ...(config.aws.dynamodbEndpoint ? { endpoint: config.aws.dynamodbEndpoint } : {}),
  })
  const kms = new KMSClient({
    ...common,
    ...(config.aws.kmsEndpoint ? { endpoint: config.aws.kmsEndpoint } : {}),
  })
  const doc = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  })
  return { dynamodb, doc, kms }
}
