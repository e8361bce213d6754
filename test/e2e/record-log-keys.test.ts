import { randomBytes } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, SQSRecord } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { objectKey } from '../../aws/keys';
import { ensureLocalAwsEnv } from '../../local/emulators';
import { lambdaContextFactory } from '../../local/lambda-context';
import { issueUserToken, localUserJwtEnvironment } from '../../local/local-issuer';
import { environmentFor, provision } from '../../local/provision';

/**
 * Batch consumers handle several records per invocation with one logger: each record's log
 * lines must carry that record's keys (userId, deviceId, pushId, txId, ...) and never an
 * earlier record's. The handlers run in process, on the shared emulators under a prefix of this
 * file's own, without the runtime's pollers: nothing but the batches below uses the logger, so
 * every line captured belongs to a known record.
 */

type Handler = (event: unknown, context: Context) => Promise<unknown>;
type LogLine = Record<string, unknown> & { message: string };

const prefix = `t${randomBytes(4).toString('hex')}-`;
let handlers: { capture: Handler; inbound: Handler; adapter: Handler; devices: Handler };
const contextOf = (name: string) =>
  lambdaContextFactory({ functionName: name, timeoutSeconds: 30, memoryMb: 256 })();

/** The JSON log lines written while `run` runs. */
const logsOf = async (run: () => Promise<unknown>): Promise<LogLine[]> => {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await run();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return written
    .join('')
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown;
        return parsed && typeof parsed === 'object' && 'message' in parsed ? [parsed as LogLine] : [];
      } catch {
        return [];
      }
    });
};

const only = (lines: LogLine[], message: string): LogLine => {
  const found = lines.filter((line) => line.message === message);
  expect(found, `one "${message}" line in ${JSON.stringify(lines)}`).toHaveLength(1);
  return found[0]!;
};

const registerDevice = async (userId: string, platform = 'json'): Promise<string> => {
  let response: { statusCode: number; body: string } | undefined;
  const token = await issueUserToken(userId);
  // Its own log lines are of no interest here.
  await logsOf(async () => {
    response = (await handlers.devices(
      {
        version: '2.0',
        routeKey: 'POST /v1/devices',
        rawPath: '/v1/devices',
        rawQueryString: '',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ platform }),
        isBase64Encoded: false,
        requestContext: { http: { method: 'POST' } },
      },
      contextOf('devices'),
    )) as { statusCode: number; body: string };
  });
  expect(response?.statusCode).toBe(201);
  return (JSON.parse(response!.body) as { deviceId: string }).deviceId;
};

const sqsRecord = (body: string, group: string, attributes: Record<string, string>): SQSRecord => ({
  messageId: randomBytes(8).toString('hex'),
  receiptHandle: randomBytes(8).toString('hex'),
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(Date.now()),
    SenderId: 'local',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
    MessageGroupId: group,
    MessageDeduplicationId: randomBytes(8).toString('hex'),
    SequenceNumber: '1',
  },
  messageAttributes: Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      { stringValue: value, stringListValues: [], binaryListValues: [], dataType: 'String' },
    ]),
  ),
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
  awsRegion: 'us-east-1',
});

const objectInsert = (item: Record<string, unknown>, sequenceNumber: string): DynamoDBRecord => ({
  eventName: 'INSERT',
  eventSource: 'aws:dynamodb',
  awsRegion: 'us-east-1',
  dynamodb: {
    SequenceNumber: sequenceNumber,
    NewImage: marshall(item) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'],
  },
});

beforeAll(async () => {
  ensureLocalAwsEnv();
  const endpoints = inject('emulators');
  const provisioned = await provision({ prefix, ...endpoints });
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'synchub',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    ...environmentFor(provisioned, endpoints),
    // The devices API authenticates the user JWT itself (functions/lib/auth.ts).
    ...(await localUserJwtEnvironment()),
  });
  // Handlers read their environment when first imported.
  const load = async (entry: string) => ((await import(entry)) as { handler: Handler }).handler;
  handlers = {
    capture: await load('../../functions/capture'),
    inbound: await load('../../functions/inbound'),
    adapter: await load('../../functions/adapter'),
    devices: await load('../../functions/http/devices'),
  };
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('per-record log keys', () => {
  it('inbound: a push and a transaction failure report each log with their own keys only', async () => {
    const userId = `u-${randomBytes(4).toString('hex')}`;
    const [a, b] = [await registerDevice(userId), await registerDevice(userId)];
    const push = JSON.stringify({
      changes: [{ changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data: { t: 1 } }],
    });
    const failure = (deviceId: string, txId: string) =>
      sqsRecord(JSON.stringify({ txId, reason: 'cannot apply' }), deviceId, {
        kind: 'tx-failure',
        userId,
        deviceId,
      });
    const lines = await logsOf(() =>
      handlers.inbound(
        {
          Records: [
            failure(a, 'tx_unknown_1'),
            sqsRecord(push, b, { userId, deviceId: b, pushId: 'push-b', contentType: 'application/json' }),
            failure(a, 'tx_unknown_2'),
          ],
        },
        contextOf('inbound'),
      ),
    );
    const reports = lines.filter(
      (line) => line.message === 'failure reported for an unknown transaction; ignored',
    );
    expect(reports.map((line) => [line.deviceId, line.txId, line.pushId])).toEqual([
      [a, 'tx_unknown_1', undefined],
      [a, 'tx_unknown_2', undefined],
    ]);
    const handled = only(lines, 'push handled');
    expect(handled).toMatchObject({ userId, deviceId: b, pushId: 'push-b', status: 'applied' });
    expect(handled).not.toHaveProperty('txId');
  });

  it('capture: a transaction member and a plain write each log with their own keys only', async () => {
    const userId = `u-${randomBytes(4).toString('hex')}`;
    const object = (objectId: string, txId?: string) => ({
      ...objectKey(userId, 'notes', objectId),
      userId,
      collection: 'notes',
      objectId,
      version: 1,
      data: JSON.stringify({ t: objectId }),
      deleted: false,
      updatedAt: new Date().toISOString(),
      origin: 'app',
      ...(txId ? { txId } : {}),
    });
    const lines = await logsOf(() =>
      handlers.capture(
        {
          // The transaction has no record (it never committed): capture parks it in the DLQ.
          Records: [objectInsert(object('m1', 'tx_missing'), '1'), objectInsert(object('p1'), '2')],
        },
        contextOf('capture'),
      ),
    );
    expect(only(lines, 'stream record cannot be processed; kept in the stream DLQ')).toMatchObject({
      userId,
      txId: 'tx_missing',
    });
    const captured = only(lines, 'change captured');
    expect(captured).toMatchObject({ userId, collection: 'notes', objectId: 'p1', op: 'add' });
    expect(captured).not.toHaveProperty('txId');
  });

  it('adapter: a delivery and an envelope for a removed device each log with their own keys only', async () => {
    const userId = `u-${randomBytes(4).toString('hex')}`;
    const device = await registerDevice(userId, 'jsonpatch');
    const envelope = (deviceId: string, upTo: number) =>
      sqsRecord(JSON.stringify({ userId, deviceId, upTo }), deviceId, {});
    const lines = await logsOf(() =>
      handlers.adapter({ Records: [envelope(device, 1), envelope('d_gone', 2)] }, contextOf('adapter')),
    );
    expect(only(lines, 'delivered')).toMatchObject({
      userId,
      deviceId: device,
      upTo: 1,
      platform: 'jsonpatch',
    });
    const dropped = only(lines, 'envelope for a removed device dropped');
    expect(dropped).toMatchObject({ userId, deviceId: 'd_gone', upTo: 2 });
    expect(dropped).not.toHaveProperty('platform');
    expect(dropped).not.toHaveProperty('logCursor');
  });
});
