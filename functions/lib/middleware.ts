import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { dependencyBudgetMs, withDeadline } from '../../aws/deadline';
import { logger, metrics, tracer } from './observability';

/**
 * Every entry point gets the same wiring: structured logs, EMF metrics, X-Ray traces, and a
 * deadline for its dependency calls (aws/deadline.ts): a call still waiting on DynamoDB or SQS
 * shortly before the function's timeout is aborted as transient, so the API answers 503 and a
 * consumer reports its records failed (retried by the event source) while it still can.
 */
export const withObservability = <E, R>(handler: (event: E, context: Context) => Promise<R>) =>
  middy<E, R>()
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler((event, context) =>
      withDeadline(dependencyBudgetMs(context.getRemainingTimeInMillis()), () => handler(event, context)),
    );
