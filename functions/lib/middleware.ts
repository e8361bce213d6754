import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics } from './observability';

/**
 * Whether this function traces: on Lambda unless `POWERTOOLS_TRACE_ENABLED` says otherwise (the
 * stack turns X-Ray active tracing on), never outside Lambda. The Tracer and the X-Ray SDK are
 * imported only then (functions/lib/tracing.ts), before any handler module makes its clients
 * (it registers their instrumentation), so a function that does not trace never loads them.
 */
const tracing =
  process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined &&
  process.env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== 'false';
const tracingMiddleware = tracing ? (await import('./tracing')).tracingMiddleware : undefined;

/** Every entry point gets the same wiring: structured logs, EMF metrics, X-Ray traces when on. */
export const withObservability = <E, R>(handler: (event: E, context: Context) => Promise<R>) => {
  const chain = middy<E, R>();
  if (tracingMiddleware) chain.use(tracingMiddleware());
  return chain
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(handler);
};
