import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { InflightBundle } from '../../core/session/inbox';

/**
 * The ack token: what a poll received from the device's inbox queue (the receipt handles of its
 * bundles and the seq range each holds), handed to the device instead of written to DynamoDB on
 * every poll. The device sends it back with its next poll (`?ack=N&ackToken=…`) or
 * acknowledgement, and that request deletes the bundles it acknowledged and releases the rest.
 *
 * Opaque and authenticated: AES-256-GCM under a key only the functions hold
 * (aws/server-keys.ts), with the device id as associated data, so a token is worth nothing to
 * another device and cannot be made or altered by the device it was given to. A token that does
 * not open (altered, another device's, sealed under a key since replaced) is treated as absent:
 * its bundles come back after the inbox visibility timeout, and nothing is lost.
 */

export interface AckTokenContent {
  /** The bundles the poll received and the device has not acknowledged in whole. */
  readonly bundles: readonly InflightBundle[];
  /** The acknowledged position the poll was made with (for the acknowledged-messages metric). */
  readonly base: number;
}

const VERSION = 'a1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Ten bundles' receipt handles (SQS's are a few hundred characters) fit with room to spare. */
export const MAX_ACK_TOKEN_LENGTH = 12_000;
export const ACK_TOKEN_PATTERN = /^a1\.[A-Za-z0-9_-]{40,11997}$/;

type Packed = { b: [string, number, number, number?][]; a: number };

export const sealAckToken = (key: Buffer, deviceId: string, content: AckTokenContent): string => {
  const packed: Packed = {
    b: content.bundles.map((bundle) => [bundle.handle, bundle.first, bundle.last, bundle.at]),
    a: content.base,
  };
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(deviceId, 'utf8'));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(packed), 'utf8'), cipher.final()]);
  return `${VERSION}.${Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url')}`;
};

const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** The token's content, or undefined when it does not open for this device under this key. */
export const openAckToken = (key: Buffer, deviceId: string, token: string): AckTokenContent | undefined => {
  if (!ACK_TOKEN_PATTERN.test(token)) return undefined;
  const raw = Buffer.from(token.slice(VERSION.length + 1), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES + 2) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(deviceId, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const text = Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
    const packed = JSON.parse(text) as Packed;
    if (!Array.isArray(packed.b) || !isSeq(packed.a)) return undefined;
    const bundles: InflightBundle[] = [];
    for (const entry of packed.b) {
      const [handle, first, last, at] = entry;
      if (typeof handle !== 'string' || !isSeq(first) || !isSeq(last) || first > last) return undefined;
      bundles.push({ handle, first, last, ...(isSeq(at) ? { at } : {}) });
    }
    return { bundles, base: packed.a };
  } catch {
    return undefined;
  }
};
