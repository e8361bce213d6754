import { describe, expect, it } from 'vitest';
import { ContendedError } from '../../../aws/commit';
import { isTooLarge, isTransient, TransientError } from '../../../aws/errors';
import { MessageTooLargeError } from '../../../aws/queue-messages';

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...extra });

const cancelled = (...codes: string[]) =>
  named('TransactionCanceledException', { CancellationReasons: codes.map((Code) => ({ Code })) });

describe('isTransient', () => {
  it.each([
    ['throttling', named('ThrottlingException')],
    ['provisioned throughput', named('ProvisionedThroughputExceededException')],
    ['request limit', named('RequestLimitExceeded')],
    ['SQS throttling', named('RequestThrottled')],
    ['a throttling trait', named('SomethingElse', { $retryable: { throttling: true } })],
    ['HTTP 429', named('SomethingElse', { $metadata: { httpStatusCode: 429 } })],
    ['a timeout', named('TimeoutError')],
    ['a server fault', named('InternalServerError', { $metadata: { httpStatusCode: 500 } })],
    ['a dropped connection', Object.assign(new Error('reset'), { code: 'ECONNRESET' })],
    ['our own', new TransientError('later')],
    ['a contended commit', new ContendedError('x', 8, 'raced')],
    ['a transaction cancelled for throttling', cancelled('None', 'ThrottlingError')],
    ['a transaction cancelled for a conflict', cancelled('TransactionConflict', 'None')],
  ])('%s is transient', (_, error) => {
    expect(isTransient(error)).toBe(true);
  });

  it.each([
    ['a failed condition', named('ConditionalCheckFailedException')],
    ['a transaction cancelled by a condition', cancelled('ConditionalCheckFailed', 'None')],
    ['a validation error', named('ValidationException', { $metadata: { httpStatusCode: 400 } })],
    ['a plain error', new Error('bug')],
    ['not an error', 'throttled'],
    ['nothing', undefined],
  ])('%s is not transient', (_, error) => {
    expect(isTransient(error)).toBe(false);
  });
});

describe('isTooLarge', () => {
  it('recognises size refusals of DynamoDB, SQS and our own encoder', () => {
    expect(
      isTooLarge(
        named('ValidationException', { message: 'Item size has exceeded the maximum allowed size' }),
      ),
    ).toBe(true);
    expect(
      isTooLarge(
        named('InvalidParameterValue', { message: 'Reason: Message must be shorter than 1048576 bytes.' }),
      ),
    ).toBe(true);
    expect(isTooLarge(new MessageTooLargeError(2_000_000))).toBe(true);
    expect(
      isTooLarge(named('ValidationException', { message: 'One or more parameter values were invalid' })),
    ).toBe(false);
  });
});
