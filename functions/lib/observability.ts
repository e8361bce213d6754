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
