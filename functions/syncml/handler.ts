import { createHash, randomBytes } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { makeDocumentClient, makeSqsClient } from '../../aws/clients';
import { Committer } from '../../aws/commit';
import { DeviceRegistry } from '../../aws/device-registry';
import { DeviceWrites } from '../../aws/device-writes';
import { isTransient } from '../../aws/errors';
import { Inbox } from '../../aws/inbox';
import { ObjectsStore } from '../../aws/objects-store';
import { SyncStore } from '../../aws/sync-store';
import {
  hashSessionKey,
  SESSION_IDLE_SECONDS,
  SessionTooLargeError,
  SyncmlStore,
} from '../../aws/syncml-store';
import { UnsupportedMediaTypeError } from '../../core/errors';
import { MAX_XML_BYTES } from '../../core/platforms/syncml/xml';
import { parseSelection } from '../../core/selection';
import { deviceSession } from '../../core/session/device-session';
import { processMessage, refuseMessage, startSession } from '../../core/syncml-session/engine';
import { type ClientMessage, readClientMessage } from '../../core/syncml-session/message';
import { Status, SYNCML_WBXML, SYNCML_XML } from '../../core/syncml-session/protocol';
import type { SessionState } from '../../core/syncml-session/state';
import { conflictResolvers } from '../conflict-resolvers';
import { DEFAULT_AUTH_DEADLINE_MS } from '../lib/auth';
import { INBOX_RETENTION_SECONDS, requireEnv, tuning } from '../lib/config';
import { contentTypeOf, type HttpEvent, type HttpResult, problemResponse, rawBody } from '../lib/http';
import { withObservability } from '../lib/middleware';
import { logger, MetricName, metrics } from '../lib/observability';
import { authenticateSession } from './auth';
import { InboxFeed } from './feed';
import { sessionPorts } from './ports';

/**
 * `POST /v1/syncml`: SyncML 1.2 sessions over HTTP (OMA DS), XML in and out. The first message
 * authenticates (its Cred) and opens a session whose key travels in the RespURI; every later
 * message names the session by that key. A resent message gets the reply it got before. Errors
 * a SyncML client can be told about are SyncML statuses in an HTTP 200 (a store that is busy
 * too: status 503, never an HTTP 5xx); a body that is not a SyncML message at all gets a 4xx
 * problem+json (there is no SyncHdr to answer).
 */

const config = tuning();
const db = makeDocumentClient();
const committer = new Committer(db);
const objects = new ObjectsStore(db, requireEnv('OBJECTS_TABLE'), config.tombstoneTtlSeconds);
const syncStore = new SyncStore(db, requireEnv('SYNC_TABLE'), config);
const registry = new DeviceRegistry(db, requireEnv('DEVICES_TABLE'));
const store = new SyncmlStore(db, committer, requireEnv('SYNC_TABLE'));
const inbox = new Inbox(makeSqsClient(), {
  prefix: requireEnv('INBOX_QUEUE_PREFIX'),
  visibilityTimeoutSeconds: config.inboxVisibilityTimeoutSeconds,
  retentionSeconds: INBOX_RETENTION_SECONDS,
});
const selection = parseSelection(config.excludedCollections);
const deps = {
  objects,
  writes: new DeviceWrites(committer, objects, syncStore, conflictResolvers),
  store,
  feed: new InboxFeed(inbox, registry, config.inboxVisibilityTimeoutSeconds * 1000),
};

const SESSION_KEY = /^[A-Za-z0-9_-]{32}$/;

const syncml = (body: string): HttpResult => ({
  statusCode: 200,
  headers: { 'content-type': `${SYNCML_XML}; charset=UTF-8` },
  body,
});

/** The URI later messages go to: where the client sent this one, with the session's key. */
const respUriFor = (message: ClientMessage, event: HttpEvent, key: string): string => {
  let base: string;
  try {
    const url = new URL(message.header.target);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    url.search = '';
    url.hash = '';
    base = url.toString();
  } catch {
    base = `https://${event.requestContext.domainName}${event.rawPath}`;
  }
  return `${base}?s=${key}`;
};

const readMessage = (event: HttpEvent): { message: ClientMessage; bodyHash: string } => {
  const type = contentTypeOf(event);
  if (type === SYNCML_WBXML)
    throw new UnsupportedMediaTypeError(`WBXML is not supported: configure the client to send ${SYNCML_XML}`);
  if (type !== SYNCML_XML)
    throw new UnsupportedMediaTypeError(`a SyncML session speaks ${SYNCML_XML}, not "${type || '(none)'}"`);
  const encoding = (event.headers?.['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity')
    throw new UnsupportedMediaTypeError(`Content-Encoding ${encoding} is not supported: send plain XML`);
  const body = rawBody(event, MAX_XML_BYTES);
  return {
    message: readClientMessage(body),
    bodyHash: createHash('sha256').update(body, 'utf8').digest('hex'),
  };
};

interface OpenSession {
  keyHash: string;
  state: SessionState;
  /** The revision and size of the state as read (a new session: 0 and 0). */
  stored: { rev: number; chunks: number };
  /** A new session's first message (resent, it gets the same reply). */
  firstMessageHash?: string;
}

/** A message's work stops this long after it started (the function's timeout is 28 s). */
const WORK_BUDGET_MS = 20_000;

/** The session a message continues or opens, or the reply that ends it here. */
async function openSession(
  message: ClientMessage,
  bodyHash: string,
  event: HttpEvent,
  context: Context,
): Promise<OpenSession | { reply: string }> {
  const { header } = message;
  const key = event.queryStringParameters?.s;
  if (key === undefined) {
    const deadlineMs = Math.max(
      100,
      Math.min(DEFAULT_AUTH_DEADLINE_MS, context.getRemainingTimeInMillis() - 1_000),
    );
    const auth = await authenticateSession(header.cred, registry, deadlineMs);
    if (!auth.ok) {
      logger.info('SyncML authentication refused', { reason: auth.reason, code: auth.code });
      return {
        reply: refuseMessage(message, auth.code, { challenge: auth.code !== Status.SERVICE_UNAVAILABLE }),
      };
    }
    const { device } = auth;
    // The same first message again (its reply was lost): the same reply.
    const seen = await store.sessionOfFirstMessage(
      device.userId,
      device.deviceId,
      header.sessionId,
      bodyHash,
    );
    if (seen) {
      const stored = await store.loadSession(seen);
      if (stored?.state.lastClientMsgId === header.msgId && stored.state.clientUri === header.source) {
        const cached = await store.cachedReply(seen, header.msgId);
        if (cached) return { reply: cached };
      }
    }
    const newKey = randomBytes(24).toString('base64url');
    return {
      keyHash: hashSessionKey(newKey),
      stored: { rev: 0, chunks: 0 },
      firstMessageHash: bodyHash,
      state: startSession(message, {
        userId: device.userId,
        deviceId: device.deviceId,
        respUri: respUriFor(message, event, newKey),
        now: new Date(),
      }),
    };
  }
  const keyHash = SESSION_KEY.test(key) ? hashSessionKey(key) : undefined;
  const stored = keyHash ? await store.loadSession(keyHash) : undefined;
  const live =
    stored &&
    stored.updatedAt + SESSION_IDLE_SECONDS * 1000 > Date.now() &&
    stored.state.clientSessionId === header.sessionId &&
    stored.state.clientUri === header.source;
  if (!live || !keyHash) return { reply: refuseMessage(message, Status.NOT_FOUND) };
  if (header.msgId === stored.state.lastClientMsgId) {
    const cached = await store.cachedReply(keyHash, header.msgId);
    return { reply: cached ?? refuseMessage(message, Status.NOT_FOUND) };
  }
  if (header.msgId < stored.state.lastClientMsgId)
    return { reply: refuseMessage(message, Status.BAD_REQUEST) };
  return { keyHash, state: stored.state, stored: { rev: stored.rev, chunks: stored.chunks } };
}

/** One message of an opened session: processed, and its state and reply stored together. */
async function continueSession(open: OpenSession, message: ClientMessage, deadline: number): Promise<string> {
  const { header } = message;
  // Re-read on every message: a device removed (or moved to another platform) mid-session stops here.
  const device = await registry.get(open.state.userId, open.state.deviceId);
  if (device?.platform !== 'syncml')
    return refuseMessage(message, Status.INVALID_CREDENTIALS, { challenge: true });
  logger.appendKeys({ userId: device.userId, deviceId: device.deviceId });
  const { settings } = await syncStore.getUserSettings(device.userId);
  const session = deviceSession(device, settings, selection);
  const phase = open.state.phase;
  const { state, reply, notes, tally } = await processMessage(
    open.state,
    message,
    sessionPorts(deps, device, session),
    {
      timeLeft: () => deadline - Date.now(),
    },
  );
  for (const note of notes) logger.warn(note);
  // Device writes that met a conflict, or were refused, count as the JSON API's pushes do.
  if (tally.conflicts > 0) metrics.addMetric(MetricName.PushConflicts, MetricUnit.Count, tally.conflicts);
  if (tally.refused > 0) metrics.addMetric(MetricName.PushesRejected, MetricUnit.Count, tally.refused);
  let saved: boolean;
  try {
    saved = await store.saveSession(open.keyHash, state, open.stored, reply, open.firstMessageHash);
  } catch (error) {
    if (!(error instanceof SessionTooLargeError)) throw error;
    // More than a session can carry (a slow sync of very many objects): refused, logged.
    logger.error('SyncML session state too large', { error });
    return refuseMessage(message, Status.PROCESSING_ERROR);
  }
  if (!saved) {
    // A resend raced this message: whichever finished first answered it.
    const cached = await store.cachedReply(open.keyHash, header.msgId);
    return cached ?? refuseMessage(message, Status.PROCESSING_ERROR);
  }
  logger.info('SyncML message handled', { msgId: header.msgId, phase: state.phase });
  if (state.phase === 'done' && phase !== 'done')
    metrics.addMetric(MetricName.SyncmlSessionsCompleted, MetricUnit.Count, 1);
  return reply;
}

async function handle(event: HttpEvent, context: Context): Promise<HttpResult> {
  const deadline = Date.now() + WORK_BUDGET_MS;
  let read: { message: ClientMessage; bodyHash: string };
  try {
    read = readMessage(event);
  } catch (error) {
    // Not a SyncML message: no SyncHdr to answer, so a 4xx problem (never a 5xx).
    return problemResponse(error, event.rawPath);
  }
  const { message, bodyHash } = read;
  if (message.header.unsupportedProtocol) return syncml(refuseMessage(message, Status.VERSION_NOT_SUPPORTED));
  try {
    const open = await openSession(message, bodyHash, event, context);
    return syncml('reply' in open ? open.reply : await continueSession(open, message, deadline));
  } catch (error) {
    // A store or queue that is busy or did not answer: the client may come again (its items
    // written so far are each whole, with their map entries, and are matched next time).
    if (isTransient(error)) {
      logger.warn('SyncML message not handled: a dependency is busy', { error: error as Error });
      return syncml(refuseMessage(message, Status.SERVICE_UNAVAILABLE));
    }
    logger.error('SyncML message failed', { error: error as Error });
    return syncml(refuseMessage(message, Status.COMMAND_FAILED));
  }
}

export const handler = withObservability(handle);
