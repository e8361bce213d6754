/**
 * Imports a function's entry module for an in-process test. An entry wires its live ports at
 * cold start (`export const handler = createHandler(liveDeps())`), which reads the environment
 * the stack gives it: these placeholders let that wiring run — it makes SDK clients and stores
 * that the test never calls — while the test builds its own handler from `createHandler` with
 * the in-memory fakes of test/support/fakes/. Values already set are left alone.
 */
const PLACEHOLDER_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: 'us-east-1',
  OBJECTS_TABLE: 'in-process-objects',
  SYNC_TABLE: 'in-process-sync',
  DEVICES_TABLE: 'in-process-devices',
  INBOUND_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/in-process-inbound.fifo',
  ADAPTER_QUEUE_URLS: '{}',
  INBOX_QUEUE_PREFIX: 'in-process-inbox-',
  STREAM_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/in-process-stream-dlq',
  INBOUND_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/in-process-inbound-dlq.fifo',
  USER_JWT_ISSUER: 'https://issuer.invalid',
  USER_JWT_AUDIENCE: 'in-process',
  USER_JWKS: '{"keys":[]}',
  ROUTE_KEYS: '[]',
};

export const importFunction = async <M>(load: () => Promise<M>): Promise<M> => {
  for (const [name, value] of Object.entries(PLACEHOLDER_ENV)) process.env[name] ??= value;
  return load();
};
