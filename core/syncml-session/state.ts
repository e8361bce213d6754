import type { SessionKind } from './content';
import type { SyncmlVersion } from './protocol';

/**
 * A SyncML session's durable state between HTTP round trips (any function instance continues
 * it). Packages, as OMA DS numbers them: 1 client init (credentials, device info, alerts) →
 * 2 server init; 3 client changes → 4 server changes (split over messages at the client's
 * MaxMsgSize); 5 client statuses and Map → 6 server statuses, after which the session's
 * outcome is committed.
 */

export type Phase =
  /** Before the client's init package is complete. */
  | 'init'
  /** The client sends its changes. */
  | 'client-sync'
  /** The server sends its changes (more messages follow while the queue is not empty). */
  | 'server-sync'
  /** All server changes are sent; the client's statuses and Map complete the session. */
  | 'mapping'
  | 'done';

export interface DatastoreSession {
  collection: string;
  /** What its objects are: vCards or iCalendars. */
  kind: SessionKind;
  /** The client's datastore URI (`./contacts`). */
  clientUri: string;
  /** The server datastore as the client named it (`contacts`). */
  serverUri: string;
  mode: 'two-way' | 'slow';
  /** Committed as the datastore's anchor when the session completes. */
  clientNext: string;
  serverNext: string;
  /** The client's Sync for this datastore has arrived. */
  synced: boolean;
  /** Slow sync: the LUIDs the client sent (mappings of the others are dropped). */
  seen: string[];
  /** Objects the client's items wrote or matched in this session. */
  written: string[];
  /** Objects whose server copy the client must get even at a version it holds (merges, kept copies). */
  resend: string[];
  /** Server changes planned for the datastore (NumberOfChanges). */
  total?: number;
  /** The record's dirty ids this session compared, by note (removed from it when the session completes). */
  planned?: Record<string, number>;
  /** This session compared everything: the record's `full` note it settles ('none': there was none). */
  comparedFull?: number | 'none';
  /** A server Sync for it has been sent. */
  opened: boolean;
}

/** A server change waiting to be sent. */
export interface OutRef {
  collection: string;
  op: 'add' | 'replace' | 'delete';
  objectId: string;
  luid?: string;
}

/** A server command sent and not yet acknowledged, by `${serverMsgId}:${cmdId}`. */
export interface SentCommand extends OutRef {
  version: number;
}

export interface SessionState {
  v: 1;
  userId: string;
  deviceId: string;
  clientSessionId: string;
  clientUri: string;
  /** The URI the client first addressed (without the session key). */
  serverUri: string;
  respUri: string;
  version: SyncmlVersion;
  /** The largest reply the client takes. */
  maxMsgSize: number;
  lastClientMsgId: number;
  serverMsgId: number;
  phase: Phase;
  /** In `server-sync`: the server's changes are still to be planned (a message ran out of time first). */
  unplanned?: boolean;
  startedAt: string;
  datastores: DatastoreSession[];
  queue: OutRef[];
  awaiting: Record<string, SentCommand>;
  acknowledged: (SentCommand & { code: number })[];
}

/** Default and bounds of the reply size: SyncEvolution's default is 150,000; DynamoDB keeps replies. */
export const DEFAULT_MAX_MSG_SIZE = 150_000;
export const MIN_MAX_MSG_SIZE = 4_000;
export const MAX_REPLY_BYTES = 300_000;

export const replySize = (clientMax: number | undefined): number =>
  Math.min(MAX_REPLY_BYTES, Math.max(MIN_MAX_MSG_SIZE, clientMax ?? DEFAULT_MAX_MSG_SIZE));
