import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * SDK clients, built once per module (Lambda init) and injected into the stores. On AWS the
 * default endpoints apply; locally `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SQS` point
 * at the emulators. fauxqs writes queue URLs with a host name that does not resolve, so the
 * SQS client must not use the queue URL as its endpoint when an endpoint is given.
 */
export interface ClientOptions {
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  region?: string;
}

const fromEnv = (): ClientOptions => ({
  dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
  sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS,
  region: process.env.AWS_REGION,
});

export const makeDynamoClient = (options: ClientOptions = fromEnv()): DynamoDBClient =>
  new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.dynamodbEndpoint ? { endpoint: options.dynamodbEndpoint } : {}),
    maxAttempts: 5,
  });

export const makeDocumentClient = (options: ClientOptions = fromEnv()): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(makeDynamoClient(options), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    unmarshallOptions: { wrapNumbers: false },
  });

export const makeSqsClient = (options: ClientOptions = fromEnv()): SQSClient =>
  new SQSClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.sqsEndpoint ? { endpoint: options.sqsEndpoint, useQueueUrlAsEndpoint: false } : {}),
    maxAttempts: 5,
  });
