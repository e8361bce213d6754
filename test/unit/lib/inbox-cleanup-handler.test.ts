/**
 * The inbox cleanup custom resource's function in process (lib/inbox-cleanup-handler.ts):
 * CloudFormation events in, exactly one response out on every path, its SQS port an in-memory
 * list of queues. On stack deletion it removes the stack's per-device inbox queues, and no other.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { type CustomResourceResponse, makeHandler, type QueuePort } from '../../../lib/inbox-cleanup-handler';

const PREFIX = 'synchub-prod-inbox-';
const url = (name: string) => `https://sqs.us-east-1.amazonaws.com/000000000000/${name}`;

/** Queues by URL, listed in pages of `pageSize` as ListQueues does. */
const queues = (names: string[], pageSize = 2, failOn?: string) => {
  const live = new Set(names.map(url));
  const port: QueuePort = {
    async list(prefix, nextToken) {
      const matching = [...live].filter((queue) =>
        queue.slice(queue.lastIndexOf('/') + 1).startsWith(prefix),
      );
      const start = Number(nextToken ?? 0);
      const page = matching.slice(start, start + pageSize);
      // A foreign queue sneaking into a page must not be deleted.
      const urls = start === 0 ? [...page, url('someone-else')] : page;
      return { urls, ...(start + pageSize < matching.length ? { nextToken: String(start + pageSize) } : {}) };
    },
    async remove(queue) {
      if (failOn && queue.endsWith(failOn)) throw new Error(`AccessDenied on ${failOn}`);
      live.delete(queue);
    },
  };
  return { port, live };
};

const event = (
  requestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, string> = { QueueNamePrefix: PREFIX, DeleteOnRemoval: 'true' },
): CloudFormationCustomResourceEvent =>
  ({
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:cleanup',
    ResponseURL: 'https://cloudformation-custom-resource-response.invalid/signed',
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/synchub-prod/1',
    RequestId: 'r-1',
    LogicalResourceId: 'InboxCleanup',
    ResourceType: 'Custom::InboxQueueCleanup',
    ResourceProperties: { ServiceToken: 'x', ...properties },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: `inbox-queues-${PREFIX}` }),
  }) as CloudFormationCustomResourceEvent;

/** Runs the handler and returns every response it sent (there must be exactly one). */
const run = async (port: QueuePort, cfEvent: CloudFormationCustomResourceEvent, remainingMs = 600_000) => {
  const responses: { url: string; response: CustomResourceResponse }[] = [];
  const handler = makeHandler(port, async (responseUrl, response) => {
    responses.push({ url: responseUrl, response });
  });
  await handler(cfEvent, { getRemainingTimeInMillis: () => remainingMs });
  expect(responses).toHaveLength(1);
  expect(responses[0]!.url).toBe(cfEvent.ResponseURL);
  return responses[0]!.response;
};

describe('the inbox cleanup custom resource', () => {
  // Its log lines (one JSON line per deletion run or failure) go to the console.
  let logged: MockInstance[] = [];
  beforeEach(() => {
    logged = [
      vi.spyOn(console, 'log').mockImplementation(() => {}),
      vi.spyOn(console, 'error').mockImplementation(() => {}),
    ];
  });
  afterEach(() => {
    for (const spy of logged) spy.mockRestore();
  });

  it('only answers a create or an update, checking the prefix', async () => {
    const { port, live } = queues([`${PREFIX}d_1.fifo`]);
    expect(await run(port, event('Create'))).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: `inbox-queues-${PREFIX}`,
      RequestId: 'r-1',
      LogicalResourceId: 'InboxCleanup',
    });
    expect(await run(port, event('Update', { QueueNamePrefix: 'synchub-' }))).toMatchObject({
      Status: 'FAILED',
      Reason: 'QueueNamePrefix "synchub-" is not an inbox prefix',
    });
    expect(live.size).toBe(1);
  });

  it('deletes every inbox queue of the stack on deletion, page after page, and nothing else', async () => {
    const names = ['d_1', 'd_2', 'd_3', 'd_4', 'd_5'].map((id) => `${PREFIX}${id}.fifo`);
    const { port, live } = queues([...names, 'synchub-prod-inbound.fifo', 'synchub-test-inbox-d_9.fifo']);
    expect(await run(port, event('Delete'))).toMatchObject({ Status: 'SUCCESS', Data: { Deleted: '5' } });
    expect([...live]).toEqual([url('synchub-prod-inbound.fifo'), url('synchub-test-inbox-d_9.fifo')]);
    expect(JSON.parse(String(logged[0]!.mock.calls[0]?.[0]))).toEqual({
      message: 'inbox queues deleted',
      prefix: PREFIX,
      deleted: 5,
      remaining: 0,
    });
  });

  it('keeps the queues when the stack says so', async () => {
    const { port, live } = queues([`${PREFIX}d_1.fifo`]);
    expect(
      await run(port, event('Delete', { QueueNamePrefix: PREFIX, DeleteOnRemoval: 'false' })),
    ).toMatchObject({
      Status: 'SUCCESS',
    });
    expect(live.size).toBe(1);
  });

  it('answers FAILED with how many are left when time runs out; deleting again carries on', async () => {
    const { port, live } = queues([`${PREFIX}d_1.fifo`, `${PREFIX}d_2.fifo`]);
    expect(await run(port, event('Delete'), 5_000)).toMatchObject({
      Status: 'FAILED',
      Reason: '2 inbox queues left (out of time); delete the stack again to continue',
    });
    expect(live.size).toBe(2);
    expect(await run(port, event('Delete'))).toMatchObject({ Status: 'SUCCESS', Data: { Deleted: '2' } });
    expect(live.size).toBe(0);
  });

  it('answers FAILED with the reason when a deletion fails, and refuses an empty prefix outright', async () => {
    const { port } = queues([`${PREFIX}d_1.fifo`, `${PREFIX}d_2.fifo`], 10, 'd_2.fifo');
    expect(await run(port, event('Delete'))).toMatchObject({
      Status: 'FAILED',
      Reason: 'AccessDenied on d_2.fifo',
    });
    const everything = queues(['synchub-prod-inbound.fifo']);
    expect(
      await run(everything.port, event('Delete', { QueueNamePrefix: '', DeleteOnRemoval: 'true' })),
    ).toMatchObject({
      Status: 'FAILED',
      Reason: 'refusing to delete queues under prefix ""',
    });
    expect(everything.live.size).toBe(1);
  });
});
