import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../lib/metrics';

export { MetricName } from '../../lib/metrics';

/**
 * One Logger and Metrics (EMF) per function, configured from the POWERTOOLS_* env the stack
 * sets (the Tracer is functions/lib/tracing.ts, loaded only when tracing is on). Metric names are declared once, in lib/metrics.ts, which the dashboard and alarms
 * read too.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? METRICS.service });
const logAt =
  (level: 'debug' | 'error') =>
  (...args: unknown[]): void =>
    logger[level](String(args[0]), ...args.slice(1).map((extra) => ({ extra })));

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS.namespace,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? METRICS.service,
  // Metrics' own remarks (chiefly "no application metrics to publish" from the functions that
  // emit none on an invocation) are debug detail, not warnings worth a log line each.
  logger: { debug: logAt('debug'), info: logAt('debug'), warn: logAt('debug'), error: logAt('error') },
});

/**
 * Runs the processing of one record of a batch so that the log keys it appends (`pushId`,
 * `txId`, ...) are its own: they are cleared before and after it, so no record's lines carry
 * an earlier record's keys. Batch consumers process records one at a time, so the shared
 * logger is never used by two records at once; keys meant for a whole invocation must be
 * persistent keys (`appendPersistentKeys`), which this leaves alone.
 */
export const withRecordLogKeys = async <T>(run: () => Promise<T>): Promise<T> => {
  logger.resetKeys();
  try {
    return await run();
  } finally {
    logger.resetKeys();
  }
};

/** A batch consumer's per-record function, with log keys of its own (`withRecordLogKeys`). */
export const recordScoped =
  <R, T>(handle: (record: R) => Promise<T>) =>
  (record: R): Promise<T> =>
    withRecordLogKeys(() => handle(record));

/** Log methods that add `keys` to every line. */
export interface ScopedLog {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/**
 * Log lines of one piece of work that runs beside others in the same invocation (the FIFO
 * groups of a batch, the devices of a fan-out): the keys travel with each line instead of being
 * appended to the shared logger, where a concurrent record would see them.
 */
export const scopedLog = (keys: Record<string, unknown>): ScopedLog => ({
  debug: (message, extra) => logger.debug(message, { ...keys, ...extra }),
  info: (message, extra) => logger.info(message, { ...keys, ...extra }),
  warn: (message, extra) => logger.warn(message, { ...keys, ...extra }),
  error: (message, extra) => logger.error(message, { ...keys, ...extra }),
});
