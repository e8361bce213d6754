import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { dependencyBudgetMs, withDeadline } from '../../aws/deadline';
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

/**
 * Every entry point gets the same wiring: structured logs, EMF metrics, X-Ray traces when on, and
 * a deadline for its dependency calls (aws/deadline.ts): a call still waiting on DynamoDB or SQS
 * shortly before the function's timeout is aborted as transient, so the API answers 503 and a
 * consumer reports its records failed (retried by the event source) while it still can.
 */
export const withObservability = <E, R>(handler: (event: E, context: Context) => Promise<R>) => {
  const chain = middy<E, R>();
  if (tracingMiddleware) chain.use(tracingMiddleware());
  return chain
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler((event, context) =>
      withDeadline(dependencyBudgetMs(context.getRemainingTimeInMillis()), () => handler(event, context)),
    );
};
