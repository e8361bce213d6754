import { startDynamoDbLocal } from './dynamodb-local';
import { startFauxqs } from './fauxqs';

export interface EmulatorEndpoints {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
}

export interface Emulators extends EmulatorEndpoints {
  /** Stops both emulators; safe to call more than once. */
  stop(): Promise<void>;
}

export const LOCAL_REGION = 'us-east-1';

/**
 * Dummy credentials and a fixed region for everything that talks to the emulators, set
 * unconditionally so that a developer's real AWS credentials are never picked up (and never
 * sent anywhere) by a local run. Neither emulator checks signatures.
 */
export const ensureLocalAwsEnv = (): void => {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_DEFAULT_REGION = LOCAL_REGION;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
};

export interface EmulatorOptions {
  /**
   * Keep DynamoDB Local's tables in this folder across restarts (absolute path). The SQS
   * emulator keeps its queues in memory only: after a restart the local runtime makes them
   * anew, and devices whose inbox was lost resync (see README, "Resync without cliffs").
   */
  readonly dynamodbDataDir?: string;
}

/**
 * DynamoDB Local (a Java child process; see dynamodb-local.ts for why it is not loopback-only)
 * and fauxqs (in process, loopback only), each on a port chosen at run time.
 */
export const startEmulators = async (options: EmulatorOptions = {}): Promise<Emulators> => {
  ensureLocalAwsEnv();
  const [dynamodb, sqs] = await Promise.allSettled([
    startDynamoDbLocal(options.dynamodbDataDir ? { dataDir: options.dynamodbDataDir } : {}),
    startFauxqs(),
  ]);
  if (dynamodb.status === 'rejected' || sqs.status === 'rejected') {
    await Promise.allSettled([
      dynamodb.status === 'fulfilled' ? dynamodb.value.stop() : undefined,
      sqs.status === 'fulfilled' ? sqs.value.stop() : undefined,
    ]);
    throw dynamodb.status === 'rejected' ? dynamodb.reason : (sqs as PromiseRejectedResult).reason;
  }
  let stopping: Promise<void> | undefined;
  return {
    dynamodbEndpoint: dynamodb.value.endpoint,
    sqsEndpoint: sqs.value.endpoint,
    stop: () => {
      stopping ??= Promise.all([dynamodb.value.stop(), sqs.value.stop()]).then(() => undefined);
      return stopping;
    },
  };
};
