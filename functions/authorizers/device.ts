import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { makeDocumentClient } from '../../aws/clients';
import { DeviceRegistry } from '../../aws/device-registry';
import { requireEnv } from '../lib/config';
import { withObservability } from '../lib/middleware';
import { logger } from '../lib/observability';
import { DEVICE_TOKEN_PATTERN, hashToken } from '../lib/tokens';

const registry = new DeviceRegistry(makeDocumentClient(), requireEnv('DEVICES_TABLE'));

type Result = APIGatewaySimpleAuthorizerWithContextResult<{ userId: string; deviceId: string; platform: string }>;
const DENY = { isAuthorized: false, context: { userId: '', deviceId: '', platform: '' } } satisfies Result;

/**
 * Device identity comes from the token alone: its hash finds the device, and the handlers read
 * userId/deviceId from this context, never from the path or the body.
 */
export const handler = withObservability(async (event: APIGatewayRequestAuthorizerEventV2): Promise<Result> => {
  const header = event.headers?.authorization ?? event.identitySource?.[0] ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  const token = match?.[1];
  if (!token || !DEVICE_TOKEN_PATTERN.test(token)) return DENY;
  const device = await registry.byTokenHash(hashToken(token));
  if (!device) {
    logger.info('device token refused');
    return DENY;
  }
  return { isAuthorized: true, context: device };
});
