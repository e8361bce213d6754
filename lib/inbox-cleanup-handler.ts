/**
 * Custom resource handler behind InboxQueueCleanup: when the stack is deleted, delete every
 * per-device inbox queue (`${prefix}inbox-*`), which the devices API created at runtime and
 * CloudFormation therefore does not know about. Create and Update only report success.
 *
 * CloudFormation invokes it asynchronously and waits for the answer on a pre-signed S3 URL, so
 * every path ends in exactly one response; a Delete that could not finish answers FAILED (the
 * stack shows DELETE_FAILED with the reason, and deleting again resumes where it stopped).
 */
import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';

/** What the handler needs from SQS; a port so the logic is testable without AWS. */
export interface QueuePort {
  /** One page of queue URLs whose name starts with `prefix`. */
  list(prefix: string, nextToken?: string): Promise<{ urls: string[]; nextToken?: string }>;
  /** Deletes a queue; a queue that is already gone counts as deleted. */
  remove(url: string): Promise<void>;
}

export interface CleanupResult {
  readonly deleted: number;
  readonly remaining: number;
}

/** Only a stack's own inbox prefix is acceptable: an empty prefix would list every queue. */
export const INBOX_PREFIX_PATTERN = /^synchub-[a-z][a-z0-9]*-inbox-$/;

const CONCURRENCY = 10;
/** Stop starting deletes this long before the Lambda timeout, to leave time to respond. */
const SAFETY_MARGIN_MS = 20_000;

const queueName = (url: string) => url.slice(url.lastIndexOf('/') + 1);

/**
 * Lists every queue under the prefix first (deleting while paginating would shift the pages),
 * then deletes them a few at a time until done or out of time.
 */
export const deleteQueuesByPrefix = async (
  port: QueuePort,
  prefix: string,
  hasTime: () => boolean,
): Promise<CleanupResult> => {
  if (!INBOX_PREFIX_PATTERN.test(prefix))
    throw new Error(`refusing to delete queues under prefix "${prefix}"`);
  const urls: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await port.list(prefix, nextToken);
    // ListQueues matches by name prefix already; check again rather than trust a fake or a bug.
    urls.push(...page.urls.filter((url) => queueName(url).startsWith(prefix)));
    nextToken = page.nextToken;
  } while (nextToken);

  let next = 0;
  let deleted = 0;
  const worker = async () => {
    while (next < urls.length && hasTime()) {
      const url = urls[next++]!;
      await port.remove(url);
      deleted++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, urls.length) }, worker));
  return { deleted, remaining: urls.length - deleted };
};

export const sqsPort = (sqs: SQSClient): QueuePort => ({
  async list(prefix, nextToken) {
    const page = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000, NextToken: nextToken }),
    );
    return { urls: page.QueueUrls ?? [], nextToken: page.NextToken };
  },
  async remove(url) {
    try {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    } catch (error) {
      if ((error as { name?: string }).name !== 'QueueDoesNotExist') throw error;
    }
  },
});

export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** PUTs the response to CloudFormation's pre-signed URL (an empty content type, as S3 signs it). */
export const putResponse = async (url: string, response: CustomResourceResponse): Promise<void> => {
  const body = JSON.stringify(response);
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await fetch(url, { method: 'PUT', body, headers: { 'content-type': '' } });
      if (result.ok) return;
      throw new Error(`response PUT returned ${result.status}`);
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
};

export const makeHandler =
  (port: QueuePort, respond: typeof putResponse = putResponse) =>
  async (event: CloudFormationCustomResourceEvent, context: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const prefix = String(event.ResourceProperties.QueueNamePrefix ?? '');
    const physicalResourceId =
      'PhysicalResourceId' in event ? event.PhysicalResourceId : `inbox-queues-${prefix || 'unknown'}`;
    let status: CustomResourceResponse['Status'] = 'SUCCESS';
    let reason: string | undefined;
    const data: Record<string, string> = {};
    try {
      if (event.RequestType !== 'Delete' && !INBOX_PREFIX_PATTERN.test(prefix)) {
        throw new Error(`QueueNamePrefix "${prefix}" is not an inbox prefix`);
      }
      if (event.RequestType === 'Delete' && String(event.ResourceProperties.DeleteOnRemoval) === 'true') {
        const result = await deleteQueuesByPrefix(
          port,
          prefix,
          () => context.getRemainingTimeInMillis() > SAFETY_MARGIN_MS,
        );
        data.Deleted = String(result.deleted);
        console.log(JSON.stringify({ message: 'inbox queues deleted', prefix, ...result }));
        if (result.remaining > 0) {
          status = 'FAILED';
          reason = `${result.remaining} inbox queues left (out of time); delete the stack again to continue`;
        }
      }
    } catch (error) {
      status = 'FAILED';
      reason = error instanceof Error ? error.message : String(error);
      console.error(JSON.stringify({ message: 'inbox cleanup failed', prefix, reason }));
    }
    await respond(event.ResponseURL, {
      Status: status,
      Reason: reason ?? `See CloudWatch log stream ${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? ''}`,
      PhysicalResourceId: physicalResourceId,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      Data: data,
    });
  };

export const handler = makeHandler(sqsPort(new SQSClient({})));
