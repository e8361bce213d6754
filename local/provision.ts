import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { makeDynamoClient, makeSqsClient } from '../aws/clients';
import { INBOX_PLATFORM_NAMES } from '../core/platforms/names';
import {
  adapterQueueKey,
  deployedRouteKeys,
  type EnvKey,
  physicalNames,
  QUEUES,
  type QueueDefinition,
  ROUTES,
  TABLES,
  type TableDefinition,
  type TableKey,
} from '../lib/definition';
import { type EmulatorEndpoints, LOCAL_REGION } from './emulators';

export interface ProvisionOptions extends EmulatorEndpoints {
  /** Prepended to every physical name, like a deployed stage's prefix. */
  readonly prefix: string;
}

export interface Provisioned {
  readonly prefix: string;
  /** Table key → physical table name. */
  readonly tables: Readonly<Record<TableKey, string>>;
  /** Queue key → queue URL (fauxqs URLs: use them with an explicit SQS endpoint). */
  readonly queueUrls: Readonly<Record<string, string>>;
  readonly queueArns: Readonly<Record<string, string>>;
  /** Stream ARN of every table that has a stream. */
  readonly streamArns: Readonly<Partial<Record<TableKey, string>>>;
}

const PREFIX_PATTERN = /^[A-Za-z0-9_-]*$/;

/**
 * Creates every table and queue of the shared definition under `prefix`, as the CDK stack
 * deploys them. Idempotent: what already exists with the same settings is reused.
 */
export const provision = async ({
  prefix,
  dynamodbEndpoint,
  sqsEndpoint,
}: ProvisionOptions): Promise<Provisioned> => {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `prefix "${prefix}" may contain only letters, digits, "-" and "_" (it names tables and queues)`,
    );
  }
  const dynamodb = makeDynamoClient({ dynamodbEndpoint, region: LOCAL_REGION });
  const sqs = makeSqsClient({ sqsEndpoint, region: LOCAL_REGION });
  try {
    const [tables, queues] = await Promise.all([
      provisionTables(dynamodb, prefix),
      provisionQueues(sqs, prefix),
    ]);
    return { prefix, ...tables, ...queues };
  } finally {
    dynamodb.destroy();
    sqs.destroy();
  }
};

const provisionTables = async (client: DynamoDBClient, prefix: string) => {
  const names = physicalNames(prefix);
  const tables = {} as Record<TableKey, string>;
  const streamArns: Partial<Record<TableKey, string>> = {};
  for (const definition of TABLES) {
    const name = names.table(definition.key);
    const description = await ensureTable(client, name, definition);
    if (definition.ttlAttribute) await ensureTimeToLive(client, name, definition.ttlAttribute);
    tables[definition.key] = name;
    if (definition.stream) {
      if (!description.LatestStreamArn) throw new Error(`table ${name} exists without a stream`);
      streamArns[definition.key] = description.LatestStreamArn;
    }
  }
  return { tables, streamArns };
};

const ensureTable = async (
  client: DynamoDBClient,
  name: string,
  definition: TableDefinition,
): Promise<TableDescription> => {
  try {
    const created = await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: definition.partitionKey, AttributeType: 'S' },
          { AttributeName: definition.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: definition.partitionKey, KeyType: 'HASH' },
          { AttributeName: definition.sortKey, KeyType: 'RANGE' },
        ],
        ...(definition.stream
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } }
          : {}),
      }),
    );
    return created.TableDescription!;
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    const existing = await client.send(new DescribeTableCommand({ TableName: name }));
    return existing.Table!;
  }
};

/**
 * DynamoDB Local accepts and reports the TTL setting but never deletes expired items (AWS
 * deletes them lazily, within days), so nothing may rely on expiry happening.
 */
const ensureTimeToLive = async (client: DynamoDBClient, name: string, attribute: string): Promise<void> => {
  const current = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
  const description = current.TimeToLiveDescription;
  if (description?.TimeToLiveStatus === 'ENABLED' && description.AttributeName === attribute) return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: attribute },
    }),
  );
};

const provisionQueues = async (client: SQSClient, prefix: string) => {
  const names = physicalNames(prefix);
  const queueUrls: Record<string, string> = {};
  const queueArns: Record<string, string> = {};
  const created = new Map<string, Promise<void>>();

  // A redrive policy names its dead-letter queue by ARN, so each DLQ is created first.
  const ensure = (definition: QueueDefinition): Promise<void> => {
    let pending = created.get(definition.key);
    if (!pending) {
      pending = (async () => {
        const dlq = definition.deadLetterQueue ? queueDefinition(definition.deadLetterQueue) : undefined;
        if (dlq) await ensure(dlq);
        const { QueueUrl } = await client.send(
          new CreateQueueCommand({
            QueueName: names.queue(definition.key),
            Attributes: queueAttributes(definition, dlq ? queueArns[dlq.key] : undefined),
          }),
        );
        const { Attributes } = await client.send(
          new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
        );
        queueUrls[definition.key] = QueueUrl!;
        queueArns[definition.key] = Attributes!.QueueArn!;
      })();
      created.set(definition.key, pending);
    }
    return pending;
  };

  await Promise.all(QUEUES.map(ensure));
  return { queueUrls, queueArns };
};

const queueDefinition = (key: string): QueueDefinition => {
  const definition = QUEUES.find((queue) => queue.key === key);
  if (!definition) throw new Error(`the definition names an unknown dead-letter queue "${key}"`);
  return definition;
};

/** Attribute values are strings and always spelled the same, so re-creating is a no-op. */
const queueAttributes = (
  definition: QueueDefinition,
  deadLetterArn: string | undefined,
): Record<string, string> => ({
  ...(definition.fifo ? { FifoQueue: 'true' } : {}),
  VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
  MessageRetentionPeriod: String(definition.retentionSeconds),
  ...(deadLetterArn
    ? {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: deadLetterArn,
          maxReceiveCount: definition.maxReceiveCount ?? 5,
        }),
      }
    : {}),
});

/** The user JWT settings come from the local issuer instead (local/local-issuer.ts). */
type UserJwtKey = 'USER_JWT_ISSUER' | 'USER_JWT_AUDIENCE' | 'USER_JWKS_URL';

export type LocalEnvironment = Readonly<
  Record<
    Exclude<EnvKey, 'PLATFORM' | UserJwtKey> | 'AWS_ENDPOINT_URL_DYNAMODB' | 'AWS_ENDPOINT_URL_SQS',
    string
  >
>;

/** The environment the handlers read, pointing at the provisioned resources and emulators. */
export const environmentFor = (provisioned: Provisioned, endpoints: EmulatorEndpoints): LocalEnvironment => {
  const queueUrl = (key: string): string => {
    const url = provisioned.queueUrls[key];
    if (!url) throw new Error(`queue "${key}" was not provisioned`);
    return url;
  };
  return {
    OBJECTS_TABLE: provisioned.tables.objects,
    SYNC_TABLE: provisioned.tables.sync,
    DEVICES_TABLE: provisioned.tables.devices,
    INBOUND_QUEUE_URL: queueUrl('inbound'),
    INBOUND_DLQ_URL: queueUrl('inbound-dlq'),
    ADAPTER_QUEUE_URLS: JSON.stringify(
      Object.fromEntries(
        INBOX_PLATFORM_NAMES.map((platform) => [platform, queueUrl(adapterQueueKey(platform))]),
      ),
    ),
    ADAPTER_DLQ_URLS: JSON.stringify(
      Object.fromEntries(
        INBOX_PLATFORM_NAMES.map((platform) => [platform, queueUrl(`${adapterQueueKey(platform)}-dlq`)]),
      ),
    ),
    INBOX_QUEUE_PREFIX: physicalNames(provisioned.prefix).inboxPrefix,
    STREAM_DLQ_URL: queueUrl('stream-dlq'),
    ROUTE_KEYS: JSON.stringify(deployedRouteKeys(ROUTES)),
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: endpoints.sqsEndpoint,
  };
};
