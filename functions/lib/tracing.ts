import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type middy from '@middy/core';
import { onClientCreated } from '../../aws/clients';
import { METRICS } from '../../lib/metrics';

/**
 * X-Ray tracing (Powertools Tracer): imported by functions/lib/middleware.ts only when tracing is
 * on, so a function that does not trace never evaluates the X-Ray SDK at cold start.
 */
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? METRICS.service });

// Every DynamoDB and SQS call a handler makes becomes an X-Ray subsegment.
onClientCreated((client) => {
  tracer.captureAWSv3Client(client);
});

export const tracingMiddleware = (): middy.MiddlewareObj =>
  captureLambdaHandler(tracer, { captureResponse: false });
