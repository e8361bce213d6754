import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LOCAL_REGION } from './emulators';

export interface LambdaContextOptions {
  readonly functionName: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly region?: string;
}

/** What the event sources and the gateway need to give each invocation its own context. */
export type ContextFactory = () => Context;

const LOCAL_ACCOUNT = '000000000000';

const callbackStyleUnsupported = (name: string) => () => {
  throw new Error(
    `context.${name}() belongs to callback-style handlers, which SyncHub does not use; return a promise`,
  );
};

/**
 * A fresh Lambda context per invocation, as the Lambda runtime builds one: a random request
 * id, the function's ARN, memory and a deadline from the definition's timeout. The local
 * runtime cannot kill an invocation that overruns: the gateway answers it as API Gateway answers
 * a timed-out function, the event sources report it (local/event-sources/invoke.ts).
 */
export const lambdaContextFactory = (options: LambdaContextOptions): ContextFactory => {
  const region = options.region ?? LOCAL_REGION;
  const logStreamDate = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const logStreamName = `${logStreamDate}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
  return () => {
    const deadline = Date.now() + options.timeoutSeconds * 1000;
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: options.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${options.functionName}`,
      memoryLimitInMB: String(options.memoryMb),
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${options.functionName}`,
      logStreamName,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: callbackStyleUnsupported('done'),
      fail: callbackStyleUnsupported('fail'),
      succeed: callbackStyleUnsupported('succeed'),
    };
  };
};
