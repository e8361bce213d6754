import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { makeDocumentClient } from '../../aws/clients';
import { DeviceRegistry } from '../../aws/device-registry';
import { requireEnv } from '../lib/env';
import type { DeviceAuthorizerContext } from '../lib/http';
import { withObservability } from '../lib/middleware';
import { logger } from '../lib/observability';
import { DEVICE_TOKEN_PATTERN, hashToken } from '../lib/tokens';

const registry = new DeviceRegistry(makeDocumentClient(), requireEnv('DEVICES_TABLE'));

type Result = APIGatewaySimpleAuthorizerWithContextResult<DeviceAuthorizerContext>;

/**
 * Device identity comes from the token alone: its hash finds the device, and the handlers read
 * userId/deviceId from this context, never from the path or the body.
 *
 * An unknown token is let through as `authenticated: false` rather than denied: a denial makes
 * API Gateway answer 403 with its own body, while the contract is a 401 problem+json, which the
 * handler gives (`deviceOf` refuses any request without an authenticated device).
 */
const UNAUTHENTICATED: Result = {
  isAuthorized: true,
  context: { authenticated: false, userId: '', deviceId: '', platform: '' },
};

export const handler = withObservability(
  async (event: APIGatewayRequestAuthorizerEventV2): Promise<Result> => {
    const header = event.headers?.authorization ?? event.identitySource?.[0] ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1];
    if (!token || !DEVICE_TOKEN_PATTERN.test(token)) return UNAUTHENTICATED;
    const device = await registry.byTokenHash(hashToken(token));
    if (!device) {
      logger.info('device token refused');
      return UNAUTHENTICATED;
    }
    return { isAuthorized: true, context: { authenticated: true, ...device } };
  },
);
