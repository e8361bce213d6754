import type { JsonObject } from './device';
import { request } from './http';

export interface RegisteredDevice {
  deviceId: string;
  deviceToken: string;
  platform: 'json' | 'jsonpatch';
  settings: { collections?: string[]; direction: string };
}

/** The application side: a user's objects and devices, with a user JWT. */
export class SyncHubUser {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  put(collection: string, objectId: string, data: JsonObject, expectedVersion?: number) {
    return request<{ version: number }>(
      this.baseUrl,
      this.token,
      `/v1/objects/${encodeURIComponent(collection)}/${encodeURIComponent(objectId)}`,
      {
        method: 'PUT',
        body: { data, ...(expectedVersion === undefined ? {} : { expectedVersion }) },
      },
    );
  }

  get(collection: string, objectId: string) {
    return request<{ version: number; data: JsonObject }>(
      this.baseUrl,
      this.token,
      `/v1/objects/${encodeURIComponent(collection)}/${encodeURIComponent(objectId)}`,
    );
  }

  delete(collection: string, objectId: string) {
    return request<void>(
      this.baseUrl,
      this.token,
      `/v1/objects/${encodeURIComponent(collection)}/${encodeURIComponent(objectId)}`,
      { method: 'DELETE' },
    );
  }

  async list(collection: string): Promise<{ objectId: string; version: number; data: JsonObject }[]> {
    const all: { objectId: string; version: number; data: JsonObject }[] = [];
    let cursor: string | undefined;
    do {
      const page = await request<{
        items: { objectId: string; version: number; data: JsonObject }[];
        next?: string;
      }>(this.baseUrl, this.token, `/v1/objects/${encodeURIComponent(collection)}`, {
        query: { cursor, limit: 1000 },
      });
      all.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return all;
  }

  /** Writes several objects atomically: all or none (409 with the failing writes). */
  transaction(
    writes: {
      op: 'put' | 'delete';
      collection: string;
      objectId: string;
      data?: JsonObject;
      expectedVersion?: number;
    }[],
    txId?: string,
  ) {
    return request<{
      txId: string;
      writes: { collection: string; objectId: string; version: number; deleted: boolean }[];
    }>(this.baseUrl, this.token, '/v1/transactions', {
      method: 'POST',
      body: { ...(txId ? { txId } : {}), writes },
    });
  }

  getTransaction(txId: string) {
    return request<{ txId: string; captured: boolean; devices: { deviceId: string; status: string }[] }>(
      this.baseUrl,
      this.token,
      `/v1/transactions/${encodeURIComponent(txId)}`,
    );
  }

  registerDevice(
    platform: 'json' | 'jsonpatch',
    name?: string,
    settings?: RegisteredDevice['settings'] | Record<string, unknown>,
  ) {
    return request<RegisteredDevice>(this.baseUrl, this.token, '/v1/devices', {
      method: 'POST',
      body: { platform, ...(name ? { name } : {}), ...(settings ? { settings } : {}) },
    });
  }

  removeDevice(deviceId: string) {
    return request<void>(this.baseUrl, this.token, `/v1/devices/${encodeURIComponent(deviceId)}`, {
      method: 'DELETE',
    });
  }
}

/** Local runtime only: a user JWT from the local issuer. */
export const localUserToken = async (baseUrl: string, userId: string): Promise<string> =>
  (
    await request<{ token: string }>(baseUrl, undefined, '/v1/local/token', {
      method: 'POST',
      body: { userId },
    })
  ).token;
