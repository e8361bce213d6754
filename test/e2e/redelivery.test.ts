import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { SyncStore } from '../../aws/sync-store';
import type { SyncHubUser } from '../../client/user';
import { toLambdaStreamRecord } from '../../local/event-sources/stream-records';
import { lambdaContextFactory } from '../../local/lambda-context';
import type { Runtime } from '../../local/runtime';
import { eventually, newDevice, newUser, startTestRuntime } from '../support/runtime';

/**
 * Every hop tolerates duplicates: stream records delivered again, envelopes and pushes sent
 * to their queues again, a push posted twice. Nothing a device or the app can see changes.
 */
let runtime: Runtime;
let streams: DynamoDBStreamsClient;
let sqs: ReturnType<typeof makeSqsClient>;
const context = lambdaContextFactory({ functionName: 'test-redelivery', timeoutSeconds: 30, memoryMb: 512 });

beforeAll(async () => {
  runtime = await startTestRuntime();
  streams = new DynamoDBStreamsClient({
    endpoint: runtime.env.AWS_ENDPOINT_URL_DYNAMODB,
    region: 'us-east-1',
  });
  sqs = makeSqsClient({ sqsEndpoint: runtime.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1' });
});
afterAll(async () => {
  streams?.destroy();
  sqs?.destroy();
  await runtime?.stop();
});

/** Every record in a table's stream so far, as Lambda would deliver them. */
const streamRecords = async (table: 'objects' | 'sync'): Promise<DynamoDBRecord[]> => {
  const streamArn = runtime.provisioned.streamArns[table]!;
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: DynamoDBRecord[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    for (let page = 0; ShardIterator && page < 50; page++) {
      const result = await streams.send(new GetRecordsCommand({ ShardIterator }));
      if ((result.Records ?? []).length === 0) break;
      records.push(
        ...(result.Records ?? []).map((record) => toLambdaStreamRecord(record, streamArn, 'us-east-1')),
      );
      ShardIterator = result.NextShardIterator;
    }
  }
  return records;
};

const registerDevice = (user: SyncHubUser, name: string) => newDevice(user, 'json', name);

const lastLogSeq = (userId: string) =>
  new SyncStore(makeDocumentClient(), runtime.env.SYNC_TABLE, {
    logTtlSeconds: 3600,
    tombstoneTtlSeconds: 3600,
  }).lastSeq(userId);

const userIdOf = (user: SyncHubUser): string =>
  JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString('utf8')).sub as string;

describe('duplicates change nothing visible', () => {
  it('at every hop: stream records, envelopes, pushes', async () => {
    const user = await newUser(runtime);
    const userId = userIdOf(user);
    const watcher = await registerDevice(user, 'watcher');
    const pusher = await registerDevice(user, 'pusher');
    await user.put('notes', 'a', { v: 1 });
    await user.put('notes', 'a', { v: 2 });
    await user.put('notes', 'b', { v: 1 });
    await user.delete('notes', 'b');
    await eventually('watcher in step', async () => {
      await watcher.sync({ wait: 1 });
      return watcher.lastSeq === 4 ? true : undefined;
    });
    await pusher.sync({ wait: 1 });
    await pusher.push([{ op: 'modify', collection: 'notes', objectId: 'a', baseVersion: 2, data: { v: 3 } }]);
    await eventually('the push result', async () => {
      await pusher.sync({ wait: 1 });
      return pusher.results.length === 1 ? true : undefined;
    });
    await eventually('watcher to get the push', async () => {
      await watcher.sync({ wait: 1 });
      return watcher.lastSeq === 5 ? true : undefined;
    });
    const logBefore = await lastLogSeq(userId);
    const objectBefore = await user.get('notes', 'a');

    // 1. Change capture gets the user's object records again, twice, as one batch.
    const { handler: capture } = await import('../../functions/capture');
    const objectRecords = (await streamRecords('objects')).filter(
      (record) => record.dynamodb?.Keys?.pk?.S === userId,
    );
    expect(objectRecords.length).toBeGreaterThanOrEqual(5);
    const captureEvent: DynamoDBStreamEvent = { Records: [...objectRecords, ...objectRecords] };
    expect(await capture(captureEvent, context())).toEqual({ batchItemFailures: [] });

    // 2. The router gets the change log records again.
    const { handler: router } = await import('../../functions/router');
    const logRecords = (await streamRecords('sync')).filter(
      (record) => record.dynamodb?.Keys?.pk?.S === `U#${userId}`,
    );
    expect(await router({ Records: logRecords }, context())).toEqual({ batchItemFailures: [] });

    // 3. Each adapter queue gets an old envelope again, past FIFO deduplication.
    const adapterQueues = JSON.parse(runtime.env.ADAPTER_QUEUE_URLS) as Record<string, string>;
    for (const device of [watcher, pusher]) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: adapterQueues.json,
          MessageBody: JSON.stringify({ userId, deviceId: device.id, upTo: logBefore }),
          MessageGroupId: device.id,
          MessageDeduplicationId: `replay-${device.id}`,
        }),
      );
    }

    // 4. The inbound queue gets the push again, past FIFO deduplication...
    const { handler: inbound } = await import('../../functions/inbound');
    const pushBody = JSON.stringify({
      changes: [
        {
          changeId: 'replayed',
          op: 'modify',
          collection: 'notes',
          objectId: 'a',
          baseVersion: 2,
          data: { v: 3 },
        },
      ],
    });
    // ...and the same push is posted twice over HTTP, byte for byte, as a retry after a lost
    // answer would (through the SDK, which knows the push: a push it never made would send it
    // to re-read what the result names, and a re-read may bring its own changes back once).
    await pusher.push([{ op: 'add', collection: 'notes', objectId: 'c', data: { v: 1 } }]);
    const sent = await pusher.push([{ op: 'add', collection: 'notes', objectId: 'd', data: { v: 1 } }]);
    expect(await pusher.repeatLastPush()).toEqual(sent);
    await eventually('the new pushes to apply', async () => {
      await pusher.sync({ wait: 1 });
      return pusher.results.length >= 3 ? true : undefined;
    });
    const inboundEvent: SQSEvent = {
      Records: [
        {
          messageId: 'replay-1',
          receiptHandle: 'replay',
          body: pushBody,
          attributes: { MessageGroupId: pusher.id } as never,
          messageAttributes: Object.fromEntries(
            Object.entries({
              userId,
              deviceId: pusher.id,
              pushId: String(pusher.results[0]!.pushId),
              contentType: 'application/json',
            }).map(([name, value]) => [
              name,
              { stringValue: value, dataType: 'String', stringListValues: [], binaryListValues: [] },
            ]),
          ),
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: runtime.provisioned.queueArns.inbound!,
          awsRegion: 'us-east-1',
        },
      ],
    };
    expect(await inbound(inboundEvent, context())).toEqual({ batchItemFailures: [] });

    // Nothing visible changed: one log entry per new push result and change, no repeats.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const seen = { watcher: [] as number[], pusher: [] as number[] };
    for (const [name, device] of [
      ['watcher', watcher],
      ['pusher', pusher],
    ] as const) {
      for (let i = 0; i < 3; i++) seen[name].push(...(await device.sync({ wait: 1 })).map((m) => m.seq));
    }
    expect(pusher.results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    expect(seen.pusher).toEqual([]);
    expect(pusher.resyncs).toEqual([]);
    // The watcher got exactly the two new objects, once each.
    const fresh = [...new Set(seen.watcher)];
    expect(fresh).toEqual(seen.watcher);
    expect(watcher.lastSeq).toBe(7);
    expect(Object.keys(watcher.view('notes')).sort()).toEqual(['notes/a', 'notes/c', 'notes/d']);
    expect(await user.get('notes', 'a')).toEqual(objectBefore);
    // Two new pushes (c, and d posted twice but deduplicated): a change and a result each.
    expect(await lastLogSeq(userId)).toBe(logBefore + 4);
  });
});
