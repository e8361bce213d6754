/** Recognising AWS SDK errors by name, without importing every exception class. */
export const isNamed = (error: unknown, ...names: string[]): boolean =>
  typeof error === 'object' && error !== null && names.includes((error as { name?: string }).name ?? '');

export const isConditionFailure = (error: unknown) => isNamed(error, 'ConditionalCheckFailedException');

/** Per-item cancellation reasons of a failed TransactWriteItems, in request order. */
export const cancellationCodes = (error: unknown): (string | undefined)[] | undefined => {
  if (!isNamed(error, 'TransactionCanceledException')) return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => (reason.Code === 'None' ? undefined : reason.Code));
};
