import { UnsupportedMediaTypeError } from '../errors';
import type {
  DeviceSettings,
  InboundWrite,
  ItemRejection,
  JsonValue,
  ObjectChange,
  PushResult,
  Replica,
  TransactionOutcome,
} from '../model';

/** A push decoded item by item: what applies, and what was rejected on its own. */
export interface PushItems {
  writes: InboundWrite[];
  rejected: ItemRejection[];
}

/**
 * How a platform's devices get their data: `inbox` devices receive numbered messages through
 * their own inbox queue (an adapter function per platform fills it); `pull` devices read the
 * current state through a protocol front of their own (WebDAV), so nothing is queued for them.
 */
export type Delivery = 'inbox' | 'pull';

/**
 * A platform codec converts between SyncHub's generic messages and one device format.
 * Adding a platform is one module implementing this plus one line in `core/platforms/index.ts`;
 * the adapter function, the inbound function and the infrastructure all read the registry.
 */
export interface PlatformCodec {
  readonly name: string;
  readonly delivery: 'inbox';
  /** Media types a push body may have on this platform (the first is the default). */
  readonly pushContentTypes: readonly string[];
  /**
   * The protocol front the platform's devices sync through instead of the JSON sync API (path
   * under the API, and its docs). That front alone reads, acknowledges and pushes for them, so
   * the JSON API's inbox, push, snapshot and digest routes refuse such a device (403): a second
   * reader would take messages from its inbox behind the front's back. Its settings stay there.
   */
  readonly front?: { readonly path: string; readonly docs: string };
  /**
   * The payload of a `change` inbox message. Throws when the change cannot be expressed on
   * this platform; the adapter then tells the device to resync instead of losing it.
   */
  encodeChange(change: ObjectChange): JsonValue;
  /**
   * The payload of one `change` inbox message carrying a whole transaction. Optional: without
   * it a transaction is `{"txId", "changes": [encodeChange(...), ...]}`. Throws like
   * `encodeChange` when any member cannot be expressed (none is then delivered).
   */
  encodeTransaction?(txId: string, changes: readonly ObjectChange[]): JsonValue;
  /** The payload of a `result` message telling what became of a transaction; optional (plain JSON). */
  encodeOutcome?(outcome: TransactionOutcome): JsonValue;
  /** The payload of a `result` inbox message for a push this device made. */
  encodeResult(result: PushResult): JsonValue;
  /** One object of a snapshot page, as an add would carry it. */
  encodeSnapshotItem(replica: Replica): JsonValue;
  /**
   * Parses and validates a raw push body into generic writes. `contentType` has passed
   * `assertPushMediaType` at the edge; the codec does not check it again. Throws `ValidationError`
   * (precise, names the offending change) on anything malformed; never partially succeeds.
   */
  decodePush(body: string, contentType: string): InboundWrite[];
  /**
   * Optional: the codec for one device, when its settings choose formats (syncml: vCard and
   * calendar versions). Callers use `codec.forDevice?.(device) ?? codec`.
   */
  forDevice?(device: { deviceId: string; settings: DeviceSettings }): PlatformCodec;
  /**
   * Optional: like `decodePush`, but items whose content cannot be converted are returned as
   * rejections instead of failing the push (still throws on a malformed body).
   */
  decodePushItems?(body: string, contentType: string): PushItems;
}

/**
 * A platform whose devices pull: it has no inbox, no adapter and no push body. Its protocol
 * front (e.g. functions/dav/) translates requests into reads and writes of the same objects,
 * under the same rules of what a device holds and may write.
 */
export interface PullPlatform {
  readonly name: string;
  readonly delivery: 'pull';
}

export type Platform = PlatformCodec | PullPlatform;

/** The media type of a Content-Type header: parameters such as charset dropped, lower case. */
export const mediaTypeOf = (contentType: string | undefined): string =>
  (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * The one check of a push's media type, made at the edge before the body is read (a codec's
 * decode trusts it): the platform's `pushContentTypes` decide. Returns the media type.
 */
export function assertPushMediaType(
  codec: Pick<PlatformCodec, 'name' | 'pushContentTypes'>,
  contentType: string | undefined,
): string {
  const mediaType = mediaTypeOf(contentType);
  if (codec.pushContentTypes.includes(mediaType)) return mediaType;
  const accepted = codec.pushContentTypes.join(' or ');
  throw new UnsupportedMediaTypeError(
    mediaType === ''
      ? `a push needs a Content-Type header; platform "${codec.name}" accepts ${accepted}`
      : `content type "${mediaType}" is not accepted by platform "${codec.name}"; use ${accepted}`,
  );
}
