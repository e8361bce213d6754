import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { onClientCreated } from '../../aws/clients';
import { METRICS } from '../../lib/metrics';

export { MetricName } from '../../lib/metrics';

/**
 * One Logger, Metrics (EMF) and Tracer per function, configured from the POWERTOOLS_* env the
 * stack sets. Metric names are declared once, in lib/metrics.ts, which the dashboard and alarms
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
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? METRICS.service });
// Every DynamoDB and SQS call a handler makes becomes an X-Ray subsegment (when tracing is on).
onClientCreated((client) => {
  tracer.captureAWSv3Client(client);
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
