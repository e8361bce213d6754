import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Liveness only: no dependencies are called, so it answers even when a table is throttled. */
export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ status: 'ok' }),
});
