import { randomBytes } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  DynamoDBRecord,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { expect } from 'vitest';
import { encodeAttribute, type QueueMessage } from '../../aws/queue-messages';
import { queueJson } from '../../core/queue-json';
import { lambdaContextFactory } from '../../local/lambda-context';
import { contractFaults } from './contract';

/**
 * Lambda events and contexts for in-process function tests: what API Gateway (payload 2.0), the
 * SQS event source and the DynamoDB stream event source hand a handler, built by hand, so a
 * handler runs without an emulator (test/support/fakes/ stand in for its ports).
 */

/** A fresh Lambda context with the function's name and a 30 s deadline. */
export const lambdaContext = (functionName = 'test'): Context =>
  lambdaContextFactory({ functionName, timeoutSeconds: 30, memoryMb: 256 })();

export interface HttpRequest {
  /** The request's method, for `ANY` routes and `$default` (otherwise the route key's). */
  readonly method?: string;
  /** The request's path as sent, for greedy and `$default` routes (otherwise built from `params`). */
  readonly rawPath?: string;
  /** Path parameters, substituted into the route's path (`{collection}` ...). */
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | number>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** A JSON body (and `Content-Type: application/json` unless `contentType` says otherwise). */
  readonly json?: unknown;
  /** A raw body, sent as it is. */
  readonly body?: string;
  readonly contentType?: string;
  /** Sends the body base64-encoded, as API Gateway does for binary media. */
  readonly base64?: boolean;
}

/** API Gateway's event for route `routeKey` (`METHOD /path/{param}`), as the gateway builds it. */
export const httpEvent = (routeKey: string, request: HttpRequest = {}): APIGatewayProxyEventV2 => {
  const [keyMethod = 'GET', template = '/'] = routeKey.startsWith('$')
    ? ['GET', '/v1/nowhere']
    : routeKey.split(' ');
  const method = request.method ?? keyMethod;
  const params = request.params ?? {};
  const rawPath =
    request.rawPath ??
    template.replace(/\{([^}+]+)\+?\}/g, (_, name: string) => encodeURIComponent(params[name] ?? name));
  const query = Object.fromEntries(Object.entries(request.query ?? {}).map(([k, v]) => [k, String(v)]));
  const rawQueryString = new URLSearchParams(query).toString();
  const text = request.json !== undefined ? JSON.stringify(request.json) : request.body;
  const contentType = request.contentType ?? (request.json !== undefined ? 'application/json' : undefined);
  const headers: Record<string, string> = {
    ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
    ...(contentType ? { 'content-type': contentType } : {}),
    ...Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(params).length > 0 ? { pathParameters: { ...params } } : {}),
    ...(text !== undefined
      ? { body: request.base64 ? Buffer.from(text, 'utf8').toString('base64') : text }
      : {}),
    isBase64Encoded: request.base64 === true,
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'api.test',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: randomBytes(8).toString('hex'),
      routeKey,
      stage: '$default',
      time: '',
      timeEpoch: Date.now(),
    },
  };
};

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** A handler's answer, its JSON body parsed (any other body as text). */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read into whatever the route answered
  readonly body: any;
  readonly raw: APIGatewayProxyStructuredResultV2;
}

/**
 * Calls `handler` with the event of `routeKey` and checks the answer against the API contract
 * (test/support/contract.ts), as the local gateway does in e2e tests: an answer the contract
 * does not allow fails the test, whatever the test then asserts.
 */
export const callHttp = async (
  handler: HttpHandler,
  routeKey: string,
  request: HttpRequest = {},
): Promise<HttpAnswer> => {
  const raw = (await handler(
    httpEvent(routeKey, request),
    lambdaContext(),
  )) as APIGatewayProxyStructuredResultV2;
  expect(contractFaults(routeKey, raw), `${routeKey} answered outside its contract`).toEqual([]);
  const headers = Object.fromEntries(
    Object.entries(raw.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  // JSON answers parsed; a protocol front's XML or text as it is.
  const isJson = /[/+]json\b/.test(headers['content-type'] ?? '');
  const body = raw.body ? (isJson ? JSON.parse(raw.body) : raw.body) : undefined;
  return { status: raw.statusCode ?? 200, headers, body, raw };
};

/** The SQS record of a message as QueueSender encodes it and Lambda's event source delivers it. */
export const sqsRecord = (
  message: QueueMessage,
  queueArn = 'arn:aws:sqs:us-east-1:000000000000:test',
): SQSRecord => ({
  messageId: randomBytes(8).toString('hex'),
  receiptHandle: randomBytes(8).toString('hex'),
  body: queueJson(message.body),
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(Date.now()),
    SenderId: 'test',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
    ...(message.groupId ? { MessageGroupId: message.groupId } : {}),
    ...(message.deduplicationId ? { MessageDeduplicationId: message.deduplicationId } : {}),
  },
  messageAttributes: Object.fromEntries(
    Object.entries(message.attributes ?? {}).map(([name, value]) => [
      name,
      typeof value === 'number'
        ? { stringValue: String(value), stringListValues: [], binaryListValues: [], dataType: 'Number' }
        : {
            stringValue: encodeAttribute(value),
            stringListValues: [],
            binaryListValues: [],
            dataType: 'String',
          },
    ]),
  ),
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: 'us-east-1',
});

export const sqsEvent = (records: readonly SQSRecord[]): SQSEvent => ({ Records: [...records] });

/** A stream record of the objects table (NEW_AND_OLD_IMAGES), images given as plain items. */
export const streamRecord = (
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  images: { newImage?: Record<string, unknown>; oldImage?: Record<string, unknown> },
  sequenceNumber = String(Date.now()),
): DynamoDBRecord => {
  type Image = NonNullable<DynamoDBRecord['dynamodb']>['NewImage'];
  return {
    eventID: randomBytes(8).toString('hex'),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      SequenceNumber: sequenceNumber,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...(images.newImage ? { NewImage: marshall(images.newImage) as Image } : {}),
      ...(images.oldImage ? { OldImage: marshall(images.oldImage) as Image } : {}),
    },
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/objects/stream/2026-01-01T00:00:00.000',
  };
};
