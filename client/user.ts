import { DEFAULT_RETRY, type RetryPolicy, Transport } from './transport';
import type { JsonObject, RegisteredDevice } from './wire';

type TransactionWrite = {
  op: 'put' | 'delete';
  collection: string;
  objectId: string;
  data?: JsonObject;
  expectedVersion?: number;
};

/** The application side: a user's objects and devices, with a user JWT. */
export class SyncHubUser {
  readonly transport: Transport;

  constructor(
    readonly baseUrl: string,
    readonly token: string,
    retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.transport = new Transport(baseUrl, token, retry);
  }

  put(collection: string, objectId: string, data: JsonObject, expectedVersion?: number) {
    return this.transport.call('PUT /v1/objects/{collection}/{objectId}', {
      params: { collection, objectId },
      body: { data, ...(expectedVersion === undefined ? {} : { expectedVersion }) },
    });
  }

  get(collection: string, objectId: string) {
    return this.transport.call('GET /v1/objects/{collection}/{objectId}', {
      params: { collection, objectId },
    });
  }

  delete(collection: string, objectId: string) {
    return this.transport.call('DELETE /v1/objects/{collection}/{objectId}', {
      params: { collection, objectId },
    });
  }

  /** Every live object of a collection, page by page. */
  async list(collection: string) {
    const all = [];
    let cursor: string | undefined;
    do {
      const page = await this.transport.call('GET /v1/objects/{collection}', {
        params: { collection },
        query: { cursor, limit: 1000 },
      });
      all.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return all;
  }

  /** Writes several objects atomically: all or none (409 with the failing writes). */
  transaction(writes: TransactionWrite[], txId?: string) {
    return this.transport.call('POST /v1/transactions', { body: { ...(txId ? { txId } : {}), writes } });
  }

  getTransaction(txId: string) {
    return this.transport.call('GET /v1/transactions/{txId}', { params: { txId } });
  }

  /** Registers a device of `platform`; the token in the answer is shown this once. */
  async registerDevice<P extends string>(
    platform: P,
    name?: string,
    settings?: Record<string, unknown>,
  ): Promise<RegisteredDevice & { platform: P }> {
    const registered = await this.transport.call('POST /v1/devices', {
      body: { platform, ...(name ? { name } : {}), ...(settings ? { settings } : {}) },
    });
    if (registered.platform !== platform)
      throw new Error(`asked to register a ${platform} device, got a ${registered.platform} one`);
    return { ...registered, platform };
  }

  removeDevice(deviceId: string) {
    return this.transport.call('DELETE /v1/devices/{deviceId}', { params: { deviceId } });
  }
}

/** Local runtime only: a user JWT from the local issuer. */
export const localUserToken = async (baseUrl: string, userId: string): Promise<string> =>
  (await new Transport(baseUrl, undefined).call('POST /v1/local/token', { body: { userId } })).token;
