import { ObjectIdSchema } from '../ids';
import { deepEqual, jsonByteLength } from '../json';
import { MAX_OBJECT_DATA_BYTES } from '../limits';
import type { JsonObject } from '../model';
import { ContentError, decodeItem, defaultType, encodeItem, MAPPED_MEMBERS } from './content';
import { type ClientDevInf, clientProperties, readClientDevInf, serverDevInf } from './devinf';
import { completedRecord } from './inbox';
import { carriedProperties, mergeDeviceItem } from './merge';
import type { AlertItem, ClientCommand, ClientMessage, ItemCommand, SyncItem } from './message';
import { MapIndex, planDatastore } from './plan';
import type { DatastoreRecords, DatastoreUpdate, ItemOutcome, ObjectState, SessionPorts } from './ports';
import { Alert, cdata, DEVINF_TYPE, DEVINF_URI, el, isSuccess, metinf, Status, textEl } from './protocol';
import { Reply, type StatusSpec } from './reply';
import { type DatastoreSession, type OutRef, replySize, type SentCommand, type SessionState } from './state';

/**
 * The SyncML session state machine: one client message in, one server message out, the
 * session's state carried between them. Client changes are written while their message is
 * handled (each item's status says how it went); the server's changes are planned when the
 * client's changes are complete (package 3), sent in as many messages as the client's
 * MaxMsgSize needs, and the session's outcome — anchors, the id map, the inbox acknowledgement —
 * is committed only when the client has acknowledged them (package 5). An interrupted session
 * therefore commits nothing: the next one starts from the same anchors and the same changes.
 */

/**
 * What SyncHub takes per message (announced as its MaxMsgSize; the XML reader's limit is higher):
 * a message's items are written while the client waits, within one Lambda invocation.
 */
export const SERVER_MAX_MSG_SIZE = 150_000;
/** Items up to this size; larger ones would need large-object support (split items), not offered. */
export const SERVER_MAX_OBJ_SIZE = 140_000;
/** Time a message keeps for planning the server's changes (reading the inbox and the objects). */
export const PLAN_RESERVE_MS = 8_000;
/** Objects read per batch while filling a message. */
const READ_BATCH = 50;
/** Room a message needs besides one item: header, statuses of a small message, the Sync frame. */
const ITEM_HEADROOM = 2_000;

export interface SessionIdentity {
  userId: string;
  deviceId: string;
  respUri: string;
  now: Date;
}

/** The state of a session whose first message was authenticated. */
export function startSession(message: ClientMessage, identity: SessionIdentity): SessionState {
  const { header } = message;
  return {
    v: 1,
    userId: identity.userId,
    deviceId: identity.deviceId,
    clientSessionId: header.sessionId,
    clientUri: header.source,
    serverUri: header.target.split('?')[0]!,
    respUri: identity.respUri,
    version: header.version,
    maxMsgSize: replySize(header.maxMsgSize),
    lastClientMsgId: 0,
    serverMsgId: 0,
    phase: 'init',
    startedAt: identity.now.toISOString(),
    datastores: [],
    queue: [],
    awaiting: {},
    acknowledged: [],
  };
}

/**
 * A reply that refuses the whole message with one code (401 bad credentials, 407 missing
 * ones, 404 unknown session, 505 unsupported version): the SyncHdr and every command get it,
 * and the message is final. Nothing was or will be written.
 */
export function refuseMessage(
  message: ClientMessage,
  code: number,
  options: { challenge?: boolean } = {},
): string {
  const { header } = message;
  const reply = new Reply(
    {
      version: header.version,
      sessionId: header.sessionId,
      msgId: 1,
      target: header.source,
      source: header.target,
    },
    Number.MAX_SAFE_INTEGER,
  );
  const msgRef = String(header.msgId);
  reply.status({
    msgRef,
    cmdRef: '0',
    cmd: 'SyncHdr',
    targetRef: header.target,
    sourceRef: header.source,
    code,
    ...(options.challenge ? { challenge: true } : {}),
  });
  for (const command of message.commands) {
    if (command.kind === 'Status') continue;
    reply.status({ msgRef, cmdRef: command.cmdId, cmd: commandName(command), code });
  }
  return reply.render(true, { clientUri: header.source, serverUri: header.target });
}

const commandName = (command: ClientCommand): string =>
  command.kind === 'Unsupported' || command.kind === 'Invalid' ? command.name : command.kind;

const CONFLICT_STATUSES = new Set<number>([
  Status.CONFLICT_SERVER_WON,
  Status.CONFLICT_CLIENT_WON,
  Status.CONFLICT_MERGED,
]);

const SUCCESS_FOR_SERVER_COMMAND = (code: number) => isSuccess(code) || code === 418; // 418: already exists

/** Per-message work: caches of what this message read, and the reply under construction. */
class MessageRun {
  private readonly maps = new Map<string, MapIndex>();
  private readonly listed = new Map<string, ObjectState[]>();
  private devinf: Promise<ClientDevInf | undefined> | undefined;
  private records: DatastoreRecords | undefined;
  readonly reply: Reply;
  /** Things worth a log line (the engine has no logger). */
  readonly notes: string[] = [];
  /** Client items that met a conflict (resolved by policy or not), and items refused (worth a metric). */
  readonly tally = { conflicts: 0, refused: 0 };
  private readonly msgRef: string;
  private final = false;

  constructor(
    private readonly state: SessionState,
    private readonly message: ClientMessage,
    private readonly ports: SessionPorts,
    private readonly now: Date,
    first: boolean,
    private readonly timeLeft: () => number,
  ) {
    state.serverMsgId += 1;
    this.msgRef = String(message.header.msgId);
    this.reply = new Reply(
      {
        version: state.version,
        sessionId: state.clientSessionId,
        msgId: state.serverMsgId,
        target: state.clientUri,
        source: message.header.target,
        respUri: state.respUri,
        ...(first ? { maxMsgSize: SERVER_MAX_MSG_SIZE, maxObjSize: SERVER_MAX_OBJ_SIZE } : {}),
      },
      state.maxMsgSize,
    );
    this.reply.status({
      msgRef: this.msgRef,
      cmdRef: '0',
      cmd: 'SyncHdr',
      targetRef: message.header.target,
      sourceRef: message.header.source,
      code: first ? Status.AUTH_ACCEPTED : Status.OK,
    });
  }

  private status(command: { cmdId: string }, cmd: string, code: number, extra: Partial<StatusSpec> = {}) {
    this.reply.status({ msgRef: this.msgRef, cmdRef: command.cmdId, cmd, code, ...extra });
  }

  private async map(collection: string): Promise<MapIndex> {
    let map = this.maps.get(collection);
    if (!map) {
      map = new MapIndex(await this.ports.loadMap(collection));
      this.maps.set(collection, map);
    }
    return map;
  }

  private async list(collection: string): Promise<ObjectState[]> {
    let objects = this.listed.get(collection);
    if (!objects) {
      objects = await this.ports.listObjects(collection);
      this.listed.set(collection, objects);
    }
    return objects;
  }

  private async datastoreRecords() {
    this.records ??= await this.ports.loadDatastores();
    return this.records;
  }

  private datastoreFor(uri: string | undefined): DatastoreSession | undefined {
    const collection = uri ? this.ports.rules.datastore(uri)?.collection : undefined;
    return this.state.datastores.find((ds) => ds.collection === collection);
  }

  async run(): Promise<string> {
    for (const command of this.message.commands) await this.command(command);
    await this.advance();
    return this.reply.render(this.final, {
      clientUri: this.state.clientUri,
      serverUri: this.message.header.target,
    });
  }

  private async command(command: ClientCommand): Promise<void> {
    switch (command.kind) {
      case 'Status':
        return this.clientStatus(command);
      case 'Put': {
        if (!command.devinf) return this.status(command, 'Put', Status.OPTIONAL_FEATURE_NOT_SUPPORTED);
        await this.ports.saveDevInf(readClientDevInf(command.devinf));
        this.devinf = undefined;
        return this.status(command, 'Put', Status.OK, command.source ? { sourceRef: command.source } : {});
      }
      case 'Get': {
        const wanted = command.target?.replace(/^\.\//, '');
        if (wanted !== 'devinf12' && wanted !== 'devinf11')
          return this.status(
            command,
            'Get',
            Status.NOT_FOUND,
            command.target ? { targetRef: command.target } : {},
          );
        this.status(command, 'Get', Status.OK, { targetRef: command.target! });
        return this.results(command.cmdId);
      }
      case 'Results':
        return this.status(command, 'Results', Status.OK);
      case 'Alert':
        return this.alert(command);
      case 'Sync':
        return this.sync(command);
      case 'Map':
        return this.clientMap(command);
      case 'Unsupported':
        return this.status(command, command.name, Status.OPTIONAL_FEATURE_NOT_SUPPORTED);
      case 'Invalid':
        return this.status(command, command.name, Status.BAD_REQUEST);
    }
  }

  /** The server's device info, as the Results of the client's Get. */
  private results(cmdRef: string): void {
    const devinf = serverDevInf(
      this.state.version,
      this.state.serverUri,
      this.ports.rules.datastores(),
      this.ports.rules.formats,
    );
    const uri = DEVINF_URI[this.state.version];
    this.reply.command((cmdId) =>
      el(
        'Results',
        textEl('CmdID', cmdId),
        textEl('MsgRef', this.msgRef),
        textEl('CmdRef', cmdRef),
        el('Meta', metinf('Type', DEVINF_TYPE)),
        el('Item', el('Source', textEl('LocURI', uri)), el('Data', devinf)),
      ),
    );
  }

  /** A client status about one of our commands: acknowledged (or not) at the session's end. */
  private clientStatus(command: Extract<ClientCommand, { kind: 'Status' }>): void {
    const key = `${command.msgRef}:${command.cmdRef}`;
    const sent = this.state.awaiting[key];
    if (!sent) return;
    delete this.state.awaiting[key];
    this.state.acknowledged.push({ ...sent, code: command.code });
  }

  private async alert(command: Extract<ClientCommand, { kind: 'Alert' }>): Promise<void> {
    if (command.code === Alert.NEXT_MESSAGE) return this.status(command, 'Alert', Status.OK);
    const items: AlertItem[] = command.items.length > 0 ? command.items : [{}];
    for (const item of items) {
      const refs = {
        ...(item.target ? { targetRef: item.target } : {}),
        ...(item.source ? { sourceRef: item.source } : {}),
      };
      if (command.code !== Alert.TWO_WAY && command.code !== Alert.SLOW) {
        // One-way and refresh syncs, and suspend / resume, are refused with 406: a documented
        // limit (docs/syncml.md), not a missing piece of this engine's two-way and slow syncs.
        this.status(command, 'Alert', Status.OPTIONAL_FEATURE_NOT_SUPPORTED, refs);
        continue;
      }
      const store = item.target ? this.ports.rules.datastore(item.target) : undefined;
      if (!store || !this.ports.rules.covers(store.collection)) {
        this.status(command, 'Alert', Status.NOT_FOUND, refs);
        continue;
      }
      const { collection, kind } = store;
      if (!item.source || !item.next || this.state.phase !== 'init' || this.datastoreFor(item.target)) {
        this.status(command, 'Alert', Status.BAD_REQUEST, refs);
        continue;
      }
      const record = (await this.datastoreRecords())[collection];
      // Two-way only from the anchor the last complete session stored; anything else is slow.
      const twoWay =
        command.code === Alert.TWO_WAY && record?.anchor !== undefined && item.last === record.anchor;
      const mode = twoWay ? 'two-way' : 'slow';
      const code = command.code === Alert.TWO_WAY && !twoWay ? Status.REFRESH_REQUIRED : Status.OK;
      this.status(command, 'Alert', code, { ...refs, anchorNext: item.next });
      const ds: DatastoreSession = {
        collection,
        kind,
        clientUri: item.source,
        serverUri: item.target!,
        mode,
        clientNext: item.next,
        serverNext: this.now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, ''),
        synced: false,
        seen: [],
        written: [],
        resend: [],
        opened: false,
      };
      this.state.datastores.push(ds);
      this.reply.command((cmdId) =>
        el(
          'Alert',
          textEl('CmdID', cmdId),
          textEl('Data', String(mode === 'two-way' ? Alert.TWO_WAY : Alert.SLOW)),
          el(
            'Item',
            el('Target', textEl('LocURI', ds.clientUri)),
            el('Source', textEl('LocURI', ds.serverUri)),
            el(
              'Meta',
              `<Anchor xmlns="syncml:metinf">${record?.serverAnchor ? textEl('Last', record.serverAnchor) : ''}${textEl('Next', ds.serverNext)}</Anchor>`,
              metinf('MaxObjSize', String(SERVER_MAX_OBJ_SIZE)),
            ),
          ),
        ),
      );
    }
  }

  private async sync(command: Extract<ClientCommand, { kind: 'Sync' }>): Promise<void> {
    const refs = {
      ...(command.target ? { targetRef: command.target } : {}),
      ...(command.source ? { sourceRef: command.source } : {}),
    };
    const ds = this.datastoreFor(command.target);
    const open = this.state.phase === 'init' || this.state.phase === 'client-sync';
    const code = !ds ? Status.NOT_FOUND : !open ? Status.COMMAND_NOT_ALLOWED : Status.OK;
    this.status(command, 'Sync', code, refs);
    for (const inner of command.commands) {
      if (inner.kind === 'Unsupported') {
        this.status(inner, inner.name, Status.OPTIONAL_FEATURE_NOT_SUPPORTED);
        continue;
      }
      if (inner.kind === 'Invalid') {
        this.status(inner, inner.name, Status.BAD_REQUEST);
        continue;
      }
      for (const item of inner.items) {
        // Past the time budget, the rest waits for the client's next session (503: try later).
        const itemCode =
          !ds || !open
            ? code
            : this.timeLeft() <= 0
              ? Status.SERVICE_UNAVAILABLE
              : await this.clientItem(ds, inner, item);
        if (CONFLICT_STATUSES.has(itemCode)) this.tally.conflicts += 1;
        else if (itemCode >= 400 && itemCode !== Status.SERVICE_UNAVAILABLE) this.tally.refused += 1;
        const ref = item.source ?? item.target;
        this.status(inner, inner.name, itemCode, ref ? { sourceRef: ref } : {});
      }
    }
    if (ds && open) ds.synced = true;
  }

  /** One client item: decoded, merged, written under the collection's conflict policy. */
  private async clientItem(ds: DatastoreSession, command: ItemCommand, item: SyncItem): Promise<number> {
    const { collection } = ds;
    if (!this.ports.rules.sends(collection)) return Status.FORBIDDEN;
    // Large objects (an item split over messages) are not announced, so not accepted.
    if (item.moreData) return Status.OPTIONAL_FEATURE_NOT_SUPPORTED;
    const map = await this.map(collection);
    if (command.name === 'Delete') {
      const entry = item.source
        ? map.byLuid(item.source)
        : item.target
          ? map.byObject(item.target)
          : undefined;
      if (!entry) return Status.ITEM_NOT_DELETED;
      const outcome = await this.ports.applyItem({
        collection,
        objectId: entry.objectId,
        op: 'delete',
        ...(entry.version > 0 ? { baseVersion: entry.version } : {}),
        luid: entry.luid,
      });
      if (outcome.kind === 'unavailable') return Status.SERVICE_UNAVAILABLE;
      if (outcome.kind === 'rejected') return Status.COMMAND_FAILED;
      // The client no longer has the item, whatever the server keeps.
      map.drop(entry.objectId);
      if (ds.mode === 'slow') ds.seen = ds.seen.filter((luid) => luid !== entry.luid);
      if (outcome.kind === 'server-kept') {
        addOnce(ds.resend, entry.objectId);
        return Status.CONFLICT_SERVER_WON;
      }
      return Status.OK;
    }
    const luid = item.source;
    if (!luid || item.data === undefined) return Status.BAD_REQUEST;
    if (ds.mode === 'slow') addOnce(ds.seen, luid);
    let decoded: JsonObject;
    try {
      decoded = decodeItem(ds.kind, item.type, item.format, item.data);
    } catch (error) {
      if (error instanceof ContentError) return Status.UNSUPPORTED_MEDIA_TYPE;
      throw error;
    }
    if (jsonByteLength(decoded) > MAX_OBJECT_DATA_BYTES) return Status.REQUEST_ENTITY_TOO_LARGE;
    // In a slow sync the client sends what it knows as Replace and the rest as Add: an Add whose
    // LUID is mapped is a new item of a client that lost its state (LUIDs get reused), not the
    // mapped object. In a two-way sync it is the same add again (a retry), so it is that object.
    const entry = command.name === 'Add' && ds.mode === 'slow' ? undefined : map.byLuid(luid);
    const objectId = entry?.objectId ?? (await this.objectIdFor(ds, map, decoded, luid));
    // An event's UID equal to its object id is implied (the mapping writes the id as UID).
    if (decoded.uid === objectId) delete decoded.uid;
    const carried = carriedProperties(
      ds.kind,
      clientProperties(await this.clientDevInf(), ds.clientUri, item.type ?? ''),
    );
    const outcome: ItemOutcome = await this.ports.applyItem({
      collection,
      objectId,
      op: entry ? 'modify' : 'add',
      ...(entry && entry.version > 0 ? { baseVersion: entry.version } : {}),
      luid,
      dataFor: (current) =>
        mergeDeviceItem(ds.kind, current && !current.deleted ? current.data : undefined, decoded, carried),
    });
    // Not written now (a busy store): the client sends the item again next session.
    if (outcome.kind === 'unavailable') return Status.SERVICE_UNAVAILABLE;
    if (outcome.kind === 'rejected') {
      return /exceed/.test(outcome.reason) ? Status.REQUEST_ENTITY_TOO_LARGE : Status.COMMAND_FAILED;
    }
    const held = outcome.kind === 'server-kept' ? (entry?.version ?? 0) : outcome.version;
    const unpaired = map.set({ objectId, luid, version: held });
    if (unpaired.length > 0) await this.ports.saveMappings(collection, [], unpaired);
    addOnce(ds.written, objectId);
    const added = command.name === 'Add' || !entry;
    if (outcome.kind === 'server-kept') {
      // The client keeps its version until the server's copy (sent in package 4) replaces it.
      addOnce(ds.resend, objectId);
      return added ? Status.ITEM_ADDED : Status.CONFLICT_SERVER_WON;
    }
    if (outcome.kind === 'written' && outcome.resolution === 'merged') {
      addOnce(ds.resend, objectId);
      return Status.CONFLICT_MERGED;
    }
    if (outcome.kind === 'written' && outcome.resolution === 'client-applied')
      return Status.CONFLICT_CLIENT_WON;
    return added ? Status.ITEM_ADDED : Status.OK;
  }

  private clientDevInf(): Promise<ClientDevInf | undefined> {
    this.devinf ??= this.ports.loadDevInf();
    return this.devinf;
  }

  /**
   * The object a new client item becomes. Events are named by their UID (so a slow sync, or the
   * same event added on two devices, finds the object); in a slow sync a contact whose content
   * equals an unmapped object's is that object. Otherwise a new id.
   */
  private async objectIdFor(
    ds: DatastoreSession,
    map: MapIndex,
    decoded: JsonObject,
    luid: string,
  ): Promise<string> {
    const { collection, kind } = ds;
    // Free to match: objects paired with no item of the client, or with this very one (an
    // interrupted slow sync already wrote it).
    const unmapped = (objectId: string) => (map.byObject(objectId)?.luid ?? luid) === luid;
    if (kind === 'events' && typeof decoded.uid === 'string') {
      const uid = decoded.uid;
      if (ObjectIdSchema.safeParse(uid).success && unmapped(uid)) return uid;
      if (ds.mode === 'slow') {
        const match = (await this.list(collection)).find(
          (o) => o.data?.uid === uid && unmapped(o.objectId) && !ds.written.includes(o.objectId),
        );
        if (match) return match.objectId;
      }
    }
    if (kind === 'contacts' && ds.mode === 'slow') {
      const members = MAPPED_MEMBERS.contacts.filter((m) => m !== 'uid');
      const carriedPart = (data: JsonObject | undefined) => members.map((m) => data?.[m] ?? null);
      const wanted = carriedPart(decoded);
      const match = (await this.list(collection)).find(
        (o) =>
          unmapped(o.objectId) && !ds.written.includes(o.objectId) && deepEqual(carriedPart(o.data), wanted),
      );
      if (match) return match.objectId;
    }
    return this.ports.newObjectId(collection);
  }

  /** The client's Map: its LUIDs for the objects the server added. */
  private async clientMap(command: Extract<ClientCommand, { kind: 'Map' }>): Promise<void> {
    const refs = {
      ...(command.target ? { targetRef: command.target } : {}),
      ...(command.source ? { sourceRef: command.source } : {}),
    };
    const collection = command.target ? this.ports.rules.datastore(command.target)?.collection : undefined;
    if (!collection || !this.ports.rules.covers(collection))
      return this.status(command, 'Map', Status.NOT_FOUND, refs);
    const map = await this.map(collection);
    const put = [];
    const dropped: string[] = [];
    for (const item of command.items) {
      if (!ObjectIdSchema.safeParse(item.target).success) continue;
      const sent = [...Object.values(this.state.awaiting), ...this.state.acknowledged].find(
        (s) => s.collection === collection && s.objectId === item.target && s.op === 'add',
      );
      // Maps of an earlier, interrupted session arrive first in the next one: version unknown.
      const version = sent?.version ?? map.byObject(item.target)?.version ?? 0;
      const entry = { objectId: item.target, luid: item.source, version };
      dropped.push(...map.set(entry));
      put.push(entry);
    }
    await this.ports.saveMappings(collection, put, dropped);
    this.status(command, 'Map', Status.OK, refs);
  }

  /** After the message's commands: the package's next step. */
  private async advance(): Promise<void> {
    const { state, message } = this;
    if (state.phase === 'init' || state.phase === 'client-sync') {
      if (!message.final) return;
      const clientChanges = message.commands.some((c) => c.kind === 'Sync');
      if (state.phase === 'init' && !clientChanges) {
        state.phase = 'client-sync';
        this.final = true;
        return;
      }
      state.phase = 'server-sync';
      state.unplanned = true;
    }
    if (state.phase === 'server-sync') {
      if (state.unplanned) {
        // The client's items took most of this message's time: this reply carries their statuses
        // only, without Final, and the client's next message (Alert 222) gets the server's changes.
        if (this.timeLeft() < PLAN_RESERVE_MS) return;
        await this.planServerChanges();
        delete state.unplanned;
      }
      if (await this.fill()) {
        state.phase = 'mapping';
        this.final = true;
      }
      return;
    }
    if (state.phase === 'mapping') {
      if (!message.final) return;
      await this.commit();
      state.phase = 'done';
      this.final = true;
      return;
    }
    this.final = message.final;
  }

  /**
   * Package 3 is complete: what the server sends, per datastore. The change feed is collected
   * into the datastore records first; a two-way sync compares the objects they name (and those
   * the client's own items left for the server copy), a slow sync or a "compare everything"
   * record every object.
   */
  private async planServerChanges(): Promise<void> {
    const { state, ports } = this;
    await ports.collectChanges();
    this.records = await ports.loadDatastores();
    for (const ds of state.datastores) {
      const { collection } = ds;
      const record = this.records[collection];
      const full = ds.mode === 'slow' || record?.full !== undefined;
      const map = await this.map(collection);
      const objects = new Map<string, ObjectState>();
      if (full) {
        for (const object of await this.list(collection)) objects.set(object.objectId, object);
        // Listing may lag a write: a mapped object is gone only if a consistent read says so.
        const unlisted = map.entries().flatMap((e) => (objects.has(e.objectId) ? [] : [e.objectId]));
        for (const [id, object] of await ports.getObjects(collection, unlisted)) objects.set(id, object);
      } else {
        const ids = new Set([...Object.keys(record?.dirty ?? {}), ...ds.resend]);
        for (const [id, object] of await ports.getObjects(collection, [...ids])) objects.set(id, object);
        // Ids read and found absent are gone: the plan deletes their mappings.
        for (const id of ids) if (!objects.has(id)) objects.set(id, gone(id));
      }
      ds.planned = { ...record?.dirty };
      if (full) ds.comparedFull = record?.full ?? 'none';
      const plan = planDatastore({
        collection,
        mode: ds.mode,
        map,
        objects,
        full,
        resend: new Set(ds.resend),
        seen: new Set(ds.seen),
        holds: (data) => ports.rules.holds(collection, data),
        receives: ports.rules.receives(collection),
      });
      if (plan.drop.length > 0) await ports.saveMappings(collection, [], plan.drop);
      ds.total = plan.refs.length;
      state.queue.push(...plan.refs);
    }
  }

  /** Adds queued server changes to the reply while they fit; true when everything is sent. */
  private async fill(): Promise<boolean> {
    const { state, ports, reply } = this;
    for (const ds of state.datastores) {
      const pending = state.queue.filter((ref) => ref.collection === ds.collection);
      if (ds.opened && pending.length === 0) continue;
      if (!reply.beginSync(ds.clientUri, ds.serverUri, ds.opened ? undefined : ds.total)) return false;
      ds.opened = true;
      for (let i = 0; i < pending.length; i += READ_BATCH) {
        const batch = pending.slice(i, i + READ_BATCH);
        const objects = await ports.getObjects(
          ds.collection,
          batch.flatMap((ref) => (ref.op === 'delete' ? [] : [ref.objectId])),
        );
        for (const ref of batch) {
          const sent = this.serverCommand(ds, ref, objects.get(ref.objectId));
          if (sent) {
            const fitted = reply.syncCommand((cmdId) => {
              sent.cmdId = cmdId;
              return sent.xml(cmdId);
            });
            if (!fitted) {
              if (sent.size <= state.maxMsgSize - ITEM_HEADROOM) {
                reply.endSync();
                return false;
              }
              // Larger than any message to this client can be (large objects are not supported).
              this.notes.push(
                `${ds.collection}/${ref.objectId} (${sent.size} bytes) exceeds the client's MaxMsgSize; not sent`,
              );
            } else state.awaiting[`${state.serverMsgId}:${sent.cmdId}`] = sent.command;
          }
          state.queue.splice(state.queue.indexOf(ref), 1);
        }
      }
      reply.endSync();
    }
    return state.queue.length === 0;
  }

  /** One queued change as the command the client receives, from the object as it is now. */
  private serverCommand(
    ds: DatastoreSession,
    ref: OutRef,
    object: ObjectState | undefined,
  ): { command: SentCommand; xml: (cmdId: string) => string; size: number; cmdId?: string } | undefined {
    const { formats } = this.ports.rules;
    const live =
      object !== undefined &&
      !object.deleted &&
      this.ports.rules.holds(ds.collection, object.data) &&
      object.data;
    let op = ref.op;
    if (!live && op === 'add') return undefined;
    if (!live && op === 'replace') op = 'delete';
    const content = live ? encodeItem(ds.kind, ref.objectId, live, object.updatedAt, formats) : undefined;
    const type = content?.type ?? defaultType(ds.kind);
    const name = op === 'add' ? 'Add' : op === 'replace' ? 'Replace' : 'Delete';
    const item = el(
      'Item',
      op !== 'add' ? el('Target', textEl('LocURI', ref.luid ?? '')) : undefined,
      op !== 'delete' ? el('Source', textEl('LocURI', ref.objectId)) : undefined,
      content ? el('Data', cdata(content.data)) : undefined,
    );
    const xml = (cmdId: string) => el(name, textEl('CmdID', cmdId), el('Meta', metinf('Type', type)), item);
    return {
      command: {
        collection: ds.collection,
        op,
        objectId: ref.objectId,
        ...(ref.luid ? { luid: ref.luid } : {}),
        version: object?.version ?? 0,
      },
      xml,
      size: Buffer.byteLength(xml('0')),
    };
  }

  /**
   * Package 5 is complete: the session's outcome becomes durable. What the client acknowledged
   * moves its held versions; what it did not (or never answered) stays dirty for the next
   * session; the datastores get their new anchors, and lose the dirty ids this session compared.
   */
  private async commit(): Promise<void> {
    const { state, ports } = this;
    const unanswered = Object.values(state.awaiting).map((sent) => ({
      ...sent,
      code: Status.COMMAND_FAILED,
    }));
    state.awaiting = {};
    const mappings: {
      collection: string;
      put: { objectId: string; luid: string; version: number }[];
      drop: string[];
    }[] = [];
    const failed = new Map<string, string[]>();
    for (const ds of state.datastores) {
      const map = await this.map(ds.collection);
      const put = [];
      const drop = [];
      for (const sent of [...state.acknowledged, ...unanswered]) {
        if (sent.collection !== ds.collection) continue;
        if (!SUCCESS_FOR_SERVER_COMMAND(sent.code)) {
          failed.set(ds.collection, [...(failed.get(ds.collection) ?? []), sent.objectId]);
          continue;
        }
        if (sent.op === 'delete') {
          drop.push(sent.objectId);
          continue;
        }
        const entry =
          sent.op === 'replace'
            ? { objectId: sent.objectId, luid: sent.luid!, version: sent.version }
            : map.byObject(sent.objectId);
        // An add the client never mapped cannot be named later: it is sent again next time.
        if (!entry) {
          failed.set(ds.collection, [...(failed.get(ds.collection) ?? []), sent.objectId]);
          continue;
        }
        put.push({ ...entry, version: sent.version });
      }
      mappings.push({ collection: ds.collection, put, drop });
    }
    // Against the records as they are when written: changes noted since the plan (another
    // session of the device) stay dirty.
    const datastores: DatastoreUpdate = (records) =>
      Object.fromEntries(
        state.datastores.map((ds) => [
          ds.collection,
          completedRecord(records[ds.collection], {
            anchor: ds.clientNext,
            serverAnchor: ds.serverNext,
            compared: ds.planned ?? {},
            comparedFull: ds.comparedFull,
            failed: failed.get(ds.collection) ?? [],
          }),
        ]),
      );
    await ports.commit({ mappings, datastores });
  }
}

const gone = (objectId: string): ObjectState => ({ objectId, version: 0, deleted: true, updatedAt: '' });

const addOnce = (list: string[], value: string) => {
  if (!list.includes(value)) list.push(value);
};

/**
 * Handles one client message of an authenticated session. The state is updated in place and
 * returned with the reply; the caller stores both (the reply answers a resent message).
 */
export async function processMessage(
  state: SessionState,
  message: ClientMessage,
  ports: SessionPorts,
  options: { now?: Date; timeLeft?: () => number } = {},
): Promise<{
  state: SessionState;
  reply: string;
  notes: string[];
  tally: { conflicts: number; refused: number };
}> {
  const first = state.lastClientMsgId === 0;
  if (message.header.maxMsgSize) state.maxMsgSize = replySize(message.header.maxMsgSize);
  const run = new MessageRun(
    state,
    message,
    ports,
    options.now ?? new Date(),
    first,
    options.timeLeft ?? (() => Number.POSITIVE_INFINITY),
  );
  const reply = await run.run();
  state.lastClientMsgId = message.header.msgId;
  return { state, reply, notes: run.notes, tally: run.tally };
}
