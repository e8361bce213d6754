/**
 * The one classifier of AWS errors. Every caller (stream and queue consumers, the HTTP edge,
 * the commit helper) asks these questions, so "transient" means the same thing everywhere:
 * consumers retry a transient failure (never dead-letter it as a poison record) and the API
 * answers 503 with Retry-After.
 */

/** A failure that will likely pass on a retry: contention, throttling, a timeout, a dropped connection. */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** Recognising AWS SDK errors by name, without importing every exception class. */
export const isNamed = (error: unknown, ...names: string[]): boolean =>
  typeof error === 'object' && error !== null && names.includes((error as { name?: string }).name ?? '');

export const isConditionFailure = (error: unknown) => isNamed(error, 'ConditionalCheckFailedException');

export const isMissingQueue = (error: unknown) =>
  isNamed(error, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'NonExistentQueue');

/** Per-item cancellation reasons of a failed TransactWriteItems, in request order. */
export const cancellationCodes = (error: unknown): (string | undefined)[] | undefined => {
  if (!isNamed(error, 'TransactionCanceledException')) return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => (reason.Code === 'None' ? undefined : reason.Code));
};

/** Throttling, by the names DynamoDB and SQS (JSON and query protocols) give it. */
const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'AWS.SimpleQueueService.RequestThrottled',
]);

const TRANSIENT_NAMES = new Set([
  TransientError.name,
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TransactionInProgressException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
]);

/** A table or queue that cannot be reached (refused, reset, unroutable, name not resolving). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** Cancellation reasons that say "try again", not "your conditions failed". */
const TRANSIENT_CANCELLATIONS = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'TransactionConflict',
]);

export const isThrottling = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: string;
    $retryable?: { throttling?: boolean };
    $metadata?: { httpStatusCode?: number };
  };
  return (
    THROTTLING_NAMES.has(e.name ?? '') ||
    e.$retryable?.throttling === true ||
    e.$metadata?.httpStatusCode === 429
  );
};

/**
 * Will this likely pass on a retry? Throttling, timeouts, server-side faults, network errors,
 * our own `TransientError`s, and a transaction cancelled for throttling or a conflicting
 * transaction (DynamoDB reports those as a TransactionCanceledException, which the SDK does not
 * retry).
 */
export const isTransient = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  if (error instanceof TransientError || isThrottling(error)) return true;
  const e = error as {
    name?: string;
    code?: string;
    $retryable?: unknown;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (TRANSIENT_NAMES.has(e.name ?? '') || e.$retryable) return true;
  if ((e.$metadata?.httpStatusCode ?? 0) >= 500 || e.$fault === 'server') return true;
  if (NETWORK_CODES.has(e.code ?? '')) return true;
  const codes = cancellationCodes(error);
  return codes?.some((code) => code !== undefined && TRANSIENT_CANCELLATIONS.has(code)) ?? false;
};

/** A request the store or the queue refused for its size (an item over 400 KB, a message over 1 MiB). */
export const isTooLarge = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const { name = '', message = '' } = error as { name?: string; message?: string };
  if (name === 'MessageTooLargeError') return true;
  if (name === 'ValidationException') return /size/i.test(message);
  return (
    (name === 'InvalidParameterValue' || name === 'InvalidParameterValueException') &&
    /shorter than|too long|size/i.test(message)
  );
};
