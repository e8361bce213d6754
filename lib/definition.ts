/**
 * The one definition of SyncHub's tables, queues, functions and routes. The CDK stack (lib/)
 * and the local runtime (local/) both read it, so what runs locally and what is deployed
 * cannot drift apart. Plain data: no CDK and no AWS SDK imports here.
 */
import { INBOX_PLATFORM_NAMES } from '../core/platforms/names';
import { METRICS } from './metrics';
import { INBOX_RETENTION_SECONDS } from './tunables';

export { INBOX_RETENTION_SECONDS };

export type TableKey = 'objects' | 'sync' | 'devices';

export interface TableDefinition {
  readonly key: TableKey;
  /** Physical name is `${prefix}${suffix}`. */
  readonly suffix: string;
  readonly partitionKey: 'pk';
  readonly sortKey: 'sk';
  readonly stream?: 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE';
  readonly ttlAttribute?: string;
  readonly description: string;
}

export const TABLES: readonly TableDefinition[] = [
  {
    key: 'objects',
    suffix: 'objects',
    partitionKey: 'pk',
    sortKey: 'sk',
    stream: 'NEW_AND_OLD_IMAGES',
    ttlAttribute: 'expiresAt',
    description: 'The primary platform: pk = userId, sk = collection#objectId. Tombstones expire.',
  },
  {
    key: 'sync',
    suffix: 'sync',
    partitionKey: 'pk',
    sortKey: 'sk',
    stream: 'NEW_IMAGE',
    ttlAttribute: 'expiresAt',
    description: 'The sync store: replicas, per-user change log and counters, push markers.',
  },
  {
    key: 'devices',
    suffix: 'devices',
    partitionKey: 'pk',
    sortKey: 'sk',
    description: 'The device registry: user → devices, settings, cursors, token hashes.',
  },
];

export interface QueueDefinition {
  readonly key: string;
  /** Physical name is `${prefix}${suffix}`; FIFO suffixes end in `.fifo`. */
  readonly suffix: string;
  readonly fifo: boolean;
  /** Key of the dead-letter queue receiving messages after `maxReceiveCount` receives. */
  readonly deadLetterQueue?: string;
  readonly maxReceiveCount?: number;
  /** At least 6x the consumer's timeout, as AWS recommends for Lambda event sources. */
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly description: string;
}

const FOURTEEN_DAYS = 14 * 24 * 3600;
const FOUR_DAYS = 4 * 24 * 3600;

export const adapterQueueKey = (platform: string) => `adapter-${platform}`;

export const QUEUES: readonly QueueDefinition[] = [
  ...INBOX_PLATFORM_NAMES.flatMap((platform): QueueDefinition[] => [
    {
      key: adapterQueueKey(platform),
      suffix: `adapter-${platform}.fifo`,
      fifo: true,
      deadLetterQueue: `${adapterQueueKey(platform)}-dlq`,
      maxReceiveCount: 5,
      visibilityTimeoutSeconds: 180,
      retentionSeconds: FOUR_DAYS,
      description: `Delivery envelopes for ${platform} devices (group = device id).`,
    },
    {
      key: `${adapterQueueKey(platform)}-dlq`,
      suffix: `adapter-${platform}-dlq.fifo`,
      fifo: true,
      visibilityTimeoutSeconds: 30,
      retentionSeconds: FOURTEEN_DAYS,
      description: `Deliveries the ${platform} adapter gave up on, with their reason (the device was told to resync), and envelopes it failed on ${5} times.`,
    },
  ]),
  {
    key: 'inbound',
    suffix: 'inbound.fifo',
    fifo: true,
    deadLetterQueue: 'inbound-dlq',
    maxReceiveCount: 5,
    visibilityTimeoutSeconds: 180,
    retentionSeconds: FOURTEEN_DAYS,
    description: 'Device pushes (group = device id, dedup = push id).',
  },
  {
    key: 'inbound-dlq',
    suffix: 'inbound-dlq.fifo',
    fifo: true,
    visibilityTimeoutSeconds: 30,
    retentionSeconds: FOURTEEN_DAYS,
    description:
      'Pushes the inbound function gave up on, with their reason (the device got a rejected result), and messages it failed on 5 times.',
  },
  {
    key: 'stream-dlq',
    suffix: 'stream-dlq',
    fifo: false,
    visibilityTimeoutSeconds: 30,
    retentionSeconds: FOURTEEN_DAYS,
    description: 'Full stream records that change capture or the router gave up on, kept for replay.',
  },
];

/** Per-device inbox queues are created at registration: `${prefix}${INBOX_SUFFIX}${deviceId}.fifo`. */
export const INBOX_INFIX = 'inbox-';

export type Trigger =
  | {
      readonly kind: 'stream';
      readonly table: TableKey;
      readonly batchSize: number;
      readonly maxBatchingWindowSeconds: number;
      readonly retryAttempts: number;
      readonly maxRecordAgeSeconds: number;
      readonly bisectBatchOnError: boolean;
      readonly deadLetterQueue: string;
      /** Only records whose new image's `sk` starts with this reach the function. */
      readonly sortKeyPrefix?: string;
    }
  | { readonly kind: 'queue'; readonly queue: string; readonly batchSize: number }
  | { readonly kind: 'http' };

export type EnvKey =
  | 'OBJECTS_TABLE'
  | 'SYNC_TABLE'
  | 'DEVICES_TABLE'
  | 'INBOUND_QUEUE_URL'
  /** The inbound DLQ: pushes given up on after their attempts, kept whole with their reason. */
  | 'INBOUND_DLQ_URL'
  | 'ADAPTER_QUEUE_URLS'
  /** JSON `{ [platform]: queueUrl }` of the adapters' dead-letter queues (work given up on, kept whole). */
  | 'ADAPTER_DLQ_URLS'
  | 'INBOX_QUEUE_PREFIX'
  | 'STREAM_DLQ_URL'
  | 'PLATFORM'
  /** Issuer, audiences (comma list) and key set URL of user JWTs: what functions/lib/auth.ts checks. */
  | 'USER_JWT_ISSUER'
  | 'USER_JWT_AUDIENCE'
  | 'USER_JWKS_URL'
  /** The deployed routes' keys (JSON array of `METHOD /path`): what the `$default` function tells 404 from 405 with. */
  | 'ROUTE_KEYS';

/** What a function that serves `auth: 'user'` routes verifies user JWTs with. */
export const USER_JWT_ENV: readonly EnvKey[] = ['USER_JWT_ISSUER', 'USER_JWT_AUDIENCE', 'USER_JWKS_URL'];

/**
 * What a function may touch; the CDK stack grants exactly this (least privilege), and the
 * handlers must not need more.
 */
export interface Access {
  readonly tables?: Readonly<Partial<Record<TableKey, 'read' | 'readwrite'>>>;
  /** Queue keys the function sends to. */
  readonly sendTo?: readonly string[];
  /** Per-device inbox queues (name prefix): create/delete them, make a lost one anew, send to them, or consume. */
  readonly inbox?: readonly ('manage' | 'recreate' | 'send' | 'consume')[];
}

export interface FunctionDefinition {
  readonly key: string;
  /** Entry file relative to the project root; exports `handler`. */
  readonly entry: string;
  readonly trigger: Trigger;
  readonly env: readonly EnvKey[];
  readonly access: Access;
  /** Extra constant environment (e.g. the platform an adapter serves). */
  readonly constants?: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Only in the local runtime (never deployed). */
  readonly localOnly?: boolean;
  readonly description: string;
}

const STREAM_DEFAULTS = {
  kind: 'stream',
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  retryAttempts: 5,
  maxRecordAgeSeconds: 6 * 3600,
  bisectBatchOnError: true,
  deadLetterQueue: 'stream-dlq',
} as const;

export const FUNCTIONS: readonly FunctionDefinition[] = [
  {
    key: 'capture',
    entry: 'functions/capture.ts',
    trigger: { ...STREAM_DEFAULTS, table: 'objects' },
    // The objects come from the stream images; the table itself is never read.
    env: ['SYNC_TABLE', 'STREAM_DLQ_URL'],
    access: { tables: { sync: 'readwrite' }, sendTo: ['stream-dlq'] },
    timeoutSeconds: 30,
    memoryMb: 512,
    description: 'Change capture: objects stream → replica compare → user change log.',
  },
  {
    key: 'router',
    entry: 'functions/router.ts',
    trigger: { ...STREAM_DEFAULTS, table: 'sync', sortKeyPrefix: 'L#' },
    // Log entries come from the stream images; the sync table itself is never read.
    env: ['DEVICES_TABLE', 'ADAPTER_QUEUE_URLS', 'STREAM_DLQ_URL'],
    access: {
      tables: { devices: 'read' },
      sendTo: [...INBOX_PLATFORM_NAMES.map(adapterQueueKey), 'stream-dlq'],
    },
    timeoutSeconds: 30,
    memoryMb: 256,
    description: 'Router: change log → one envelope per receiving device on its platform queue.',
  },
  ...INBOX_PLATFORM_NAMES.map(
    (platform): FunctionDefinition => ({
      key: `adapter-${platform}`,
      entry: 'functions/adapter.ts',
      trigger: { kind: 'queue', queue: adapterQueueKey(platform), batchSize: 10 },
      env: ['SYNC_TABLE', 'DEVICES_TABLE', 'INBOX_QUEUE_PREFIX', 'INBOUND_QUEUE_URL', 'ADAPTER_DLQ_URLS'],
      // inbound: a transaction the platform cannot express is reported there (error policy).
      // recreate: a registered device's lost inbox queue is made anew before delivering to it.
      // The DLQ: a device's delivery given up on is kept there whole, with its reason.
      access: {
        tables: { sync: 'read', devices: 'readwrite' },
        inbox: ['send', 'recreate'],
        sendTo: ['inbound', `${adapterQueueKey(platform)}-dlq`],
      },
      constants: { PLATFORM: platform },
      timeoutSeconds: 30,
      memoryMb: 512,
      description: `Adapter for ${platform}: generic messages → ${platform} format → device inboxes.`,
    }),
  ),
  {
    key: 'inbound',
    entry: 'functions/inbound.ts',
    trigger: { kind: 'queue', queue: 'inbound', batchSize: 10 },
    env: ['OBJECTS_TABLE', 'SYNC_TABLE', 'DEVICES_TABLE', 'INBOUND_DLQ_URL'],
    // The DLQ: a push given up on after its attempts is kept there whole, with its reason.
    access: { tables: { objects: 'readwrite', sync: 'readwrite', devices: 'read' }, sendTo: ['inbound-dlq'] },
    timeoutSeconds: 30,
    memoryMb: 512,
    description: 'Inbound: device pushes → version-checked transactions on the objects table.',
  },
  {
    key: 'objects-api',
    entry: 'functions/http/objects.ts',
    trigger: { kind: 'http' },
    env: ['OBJECTS_TABLE', 'SYNC_TABLE', 'DEVICES_TABLE', ...USER_JWT_ENV],
    // sync: the transaction record is written with the objects (the outbox), and read back for
    // GET /v1/transactions/{txId}; devices: per-device delivery status of a transaction.
    access: { tables: { objects: 'readwrite', sync: 'readwrite', devices: 'read' } },
    timeoutSeconds: 10,
    memoryMb: 512,
    description: 'Application API for objects and transactions (the primary platform).',
  },
  {
    key: 'devices-api',
    entry: 'functions/http/devices.ts',
    trigger: { kind: 'http' },
    env: ['DEVICES_TABLE', 'SYNC_TABLE', 'INBOX_QUEUE_PREFIX', ...USER_JWT_ENV],
    // sync: the user's settings, and the resync notice a filter change appends to the log.
    access: { tables: { devices: 'readwrite', sync: 'readwrite' }, inbox: ['manage'] },
    timeoutSeconds: 10,
    memoryMb: 256,
    description: 'User API: devices (register, list, remove) and the user settings.',
  },
  {
    key: 'sync-api',
    entry: 'functions/http/sync.ts',
    trigger: { kind: 'http' },
    // DEVICES_TABLE and devices read: every request's device token is looked up there.
    env: ['DEVICES_TABLE', 'SYNC_TABLE', 'INBOUND_QUEUE_URL', 'INBOX_QUEUE_PREFIX'],
    // sync: write only for the resync notice a change of the device's settings appends.
    // inbox manage: a device's inbox queue lost outside SyncHub is made anew on its next poll.
    access: {
      tables: { devices: 'readwrite', sync: 'readwrite' },
      sendTo: ['inbound'],
      inbox: ['consume', 'recreate'],
    },
    // Long polls wait up to 20 s; API Gateway's integration timeout is 30 s.
    timeoutSeconds: 28,
    memoryMb: 512,
    description: 'Device API: poll, acknowledge, push, snapshot, settings.',
  },
  {
    key: 'couchdb-api',
    entry: 'functions/couchdb/handler.ts',
    trigger: { kind: 'http' },
    env: ['OBJECTS_TABLE', 'SYNC_TABLE', 'DEVICES_TABLE', 'INBOX_QUEUE_PREFIX'],
    // objects: replicated documents are written now (version-checked), like an app write;
    // sync: revision trees, feeds, checkpoints, and the result entry a conflict appends;
    // devices: tokens are looked up there; the implied ack (the next `since`) is written there,
    // and the inbox queue made anew when it was lost.
    access: {
      tables: { objects: 'readwrite', sync: 'readwrite', devices: 'readwrite' },
      inbox: ['consume', 'recreate'],
    },
    // Long polls hold up to 20 s; API Gateway's integration timeout is 30 s.
    timeoutSeconds: 28,
    memoryMb: 512,
    description: 'CouchDB front: the replication protocol PouchDB speaks, over the device inbox.',
  },
  {
    key: 'dav-api',
    entry: 'functions/dav/handler.ts',
    trigger: { kind: 'http' },
    env: ['OBJECTS_TABLE', 'SYNC_TABLE', 'DEVICES_TABLE'],
    // objects: members are read and written in the request (read-your-writes); sync: the change
    // log behind sync tokens, the user's settings, and the front's own name and UID items;
    // devices: authentication (the token hash) and the device's settings.
    access: { tables: { objects: 'readwrite', sync: 'readwrite', devices: 'read' } },
    timeoutSeconds: 28,
    // A first sync renders thousands of vCards in one multiget.
    memoryMb: 1024,
    description: 'CardDAV and CalDAV for dav devices (docs/dav.md).',
  },
  {
    key: 'syncml-api',
    entry: 'functions/syncml/handler.ts',
    trigger: { kind: 'http' },
    env: ['OBJECTS_TABLE', 'SYNC_TABLE', 'DEVICES_TABLE', 'INBOX_QUEUE_PREFIX'],
    // objects: client changes are written synchronously; sync: session state, id maps, anchors
    // (and the replica history a field merge reads); devices: the token lookup of the first
    // message, the device record every message re-reads, and the inbox cursor a session moves as
    // it drains the inbox, its change feed (a lost one is made anew).
    access: {
      tables: { objects: 'readwrite', sync: 'readwrite', devices: 'readwrite' },
      inbox: ['consume', 'recreate'],
    },
    // A slow sync's message writes every item it carries; API Gateway's timeout is 30 s.
    timeoutSeconds: 28,
    memoryMb: 512,
    description: 'SyncML 1.2 sessions over HTTP (OMA DS): POST /v1/syncml, authenticated in the SyncHdr.',
  },
  {
    key: 'health',
    entry: 'functions/http/health.ts',
    trigger: { kind: 'http' },
    env: [],
    access: {},
    timeoutSeconds: 3,
    memoryMb: 128,
    description: 'Liveness probe.',
  },
  {
    key: 'fallback',
    entry: 'functions/http/fallback.ts',
    trigger: { kind: 'http' },
    // The routes arrive as data rather than by importing ROUTES, which would bundle every codec.
    env: ['ROUTE_KEYS'],
    access: {},
    timeoutSeconds: 3,
    memoryMb: 128,
    description: 'The $default route: 404 and 405 as problem+json, CORS preflights of the JSON API.',
  },
  {
    key: 'local-token',
    entry: 'local/token-handler.ts',
    trigger: { kind: 'http' },
    env: [],
    access: {},
    timeoutSeconds: 3,
    memoryMb: 128,
    localOnly: true,
    description: 'Issues user JWTs signed by the local issuer (local runtime only).',
  },
];

/**
 * Which credential a route takes. The functions check it themselves (functions/lib/auth.ts):
 * API Gateway only routes, so every front answers auth failures in its own protocol's shape.
 */
export type Auth = 'none' | 'user' | 'device';

/**
 * A protocol front: a sync protocol of its own (docs/<front>.md) served beside the JSON API. Its
 * routes answer in that protocol's formats, so the API contract (functions/schemas/contract.ts)
 * does not describe them; functions/schemas/fronts.ts does, for the OpenAPI document and for the
 * e2e runs' response check.
 */
export type ProtocolFront = 'dav' | 'syncml' | 'couchdb';

export interface RouteDefinition {
  /**
   * `ANY` matches every method the path has no route of its own for, WebDAV's `PROPFIND`,
   * `REPORT` and the like included (protocol fronts dispatch on the method themselves).
   */
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'ANY';
  /**
   * API Gateway HTTP API path syntax: whole-segment `{name}` parameters, and a greedy `{name+}`
   * as the last segment (it takes every remaining segment, slashes included).
   */
  readonly path: string;
  readonly function: string;
  readonly auth: Auth;
  readonly localOnly?: boolean;
  /** Set on the routes of a protocol front; absent on the JSON API's. */
  readonly front?: ProtocolFront;
}

/** Is this a route of the JSON API (described by the API contract), not of a protocol front? */
export const isJsonRoute = (route: RouteDefinition): boolean => route.front === undefined;

export const ROUTES: readonly RouteDefinition[] = [
  { method: 'GET', path: '/v1/health', function: 'health', auth: 'none' },
  { method: 'POST', path: '/v1/local/token', function: 'local-token', auth: 'none', localOnly: true },
  { method: 'GET', path: '/v1/objects/{collection}', function: 'objects-api', auth: 'user' },
  { method: 'GET', path: '/v1/objects/{collection}/{objectId}', function: 'objects-api', auth: 'user' },
  { method: 'PUT', path: '/v1/objects/{collection}/{objectId}', function: 'objects-api', auth: 'user' },
  { method: 'DELETE', path: '/v1/objects/{collection}/{objectId}', function: 'objects-api', auth: 'user' },
  { method: 'POST', path: '/v1/transactions', function: 'objects-api', auth: 'user' },
  { method: 'GET', path: '/v1/transactions/{txId}', function: 'objects-api', auth: 'user' },
  { method: 'GET', path: '/v1/settings', function: 'devices-api', auth: 'user' },
  { method: 'PUT', path: '/v1/settings', function: 'devices-api', auth: 'user' },
  { method: 'POST', path: '/v1/devices', function: 'devices-api', auth: 'user' },
  { method: 'GET', path: '/v1/devices', function: 'devices-api', auth: 'user' },
  { method: 'DELETE', path: '/v1/devices/{deviceId}', function: 'devices-api', auth: 'user' },
  { method: 'GET', path: '/v1/sync/messages', function: 'sync-api', auth: 'device' },
  { method: 'POST', path: '/v1/sync/ack', function: 'sync-api', auth: 'device' },
  { method: 'POST', path: '/v1/sync/changes', function: 'sync-api', auth: 'device' },
  { method: 'GET', path: '/v1/sync/snapshot', function: 'sync-api', auth: 'device' },
  { method: 'GET', path: '/v1/sync/digest', function: 'sync-api', auth: 'device' },
  { method: 'GET', path: '/v1/sync/settings', function: 'sync-api', auth: 'device' },
  { method: 'PUT', path: '/v1/sync/settings', function: 'sync-api', auth: 'device' },
  // CardDAV and CalDAV (docs/dav.md): WebDAV methods (PROPFIND, REPORT, ...) on paths of any
  // depth; the DAV front dispatches on the method and path itself, and checks the device's HTTP
  // Basic credential itself, answering with the `WWW-Authenticate: Basic` challenge DAV clients
  // wait for.
  { method: 'ANY', path: '/v1/dav', function: 'dav-api', auth: 'device', front: 'dav' },
  { method: 'ANY', path: '/v1/dav/{proxy+}', function: 'dav-api', auth: 'device', front: 'dav' },
  // RFC 6764 discovery: redirects to /v1/dav/, for any method, without credentials.
  { method: 'ANY', path: '/.well-known/carddav', function: 'dav-api', auth: 'none', front: 'dav' },
  { method: 'ANY', path: '/.well-known/caldav', function: 'dav-api', auth: 'none', front: 'dav' },
  // SyncML sessions (docs/syncml.md): the device credential travels in the first message's
  // SyncHdr (its Cred), later messages by the RespURI's session key; failures are SyncML statuses.
  { method: 'POST', path: '/v1/syncml', function: 'syncml-api', auth: 'device', front: 'syncml' },
  // The CouchDB front (functions/schemas/fronts.ts): device credentials as PouchDB sends them
  // (Basic deviceId:token, or Bearer), errors in CouchDB's shape; preflights need none.
  { method: 'ANY', path: '/v1/couchdb', function: 'couchdb-api', auth: 'device', front: 'couchdb' },
  { method: 'ANY', path: '/v1/couchdb/{proxy+}', function: 'couchdb-api', auth: 'device', front: 'couchdb' },
];

/**
 * API Gateway's `$default` route: requests no route above matches go to this function (on AWS as
 * in the local gateway), so a wrong path or method is answered problem+json too.
 */
export const DEFAULT_ROUTE = { function: 'fallback' } as const;

/** API Gateway route keys (`METHOD /path`) of the routes that are deployed (local-only ones are not). */
export const deployedRouteKeys = (routes: readonly RouteDefinition[]): string[] =>
  routes.filter((route) => !route.localOnly).map((route) => `${route.method} ${route.path}`);

/** Physical names of everything the definition names, for a given prefix (stage). */
export const physicalNames = (prefix: string) => ({
  table: (key: TableKey) => `${prefix}${TABLES.find((t) => t.key === key)!.suffix}`,
  queue: (key: string) => {
    const queue = QUEUES.find((q) => q.key === key);
    if (!queue) throw new Error(`unknown queue ${key}`);
    return `${prefix}${queue.suffix}`;
  },
  inboxPrefix: `${prefix}${INBOX_INFIX}`,
});

/**
 * Deployment data the CDK stack needs besides the above (the local runtime may read it too).
 * `ADAPTER_QUEUE_URLS` is a JSON object `{ [platform]: queueUrl }`; `INBOX_QUEUE_PREFIX` is
 * `physicalNames(prefix).inboxPrefix`.
 */
export const DEPLOYMENT = {
  /** Custom metrics (Powertools Metrics → EMF) with the default dimension set `{ service }`. */
  metrics: METRICS,
} as const;
