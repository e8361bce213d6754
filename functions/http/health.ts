import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import type { HealthResponseSchema } from '../schemas/responses';

/**
 * Liveness only: no dependencies are called, so it answers even when a table is throttled. Not
 * behind `httpApi` (which brings the logger and metrics), so its bundle stays tiny; the body is
 * still typed by its response schema.
 */
export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ status: 'ok' } satisfies z.input<typeof HealthResponseSchema>),
});
