import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/errors';
import { syncmlCodecFor } from '../../../../core/platforms/syncml/codec';
import { datastoreOf } from '../../../../core/syncml-session/content';
import { completedRecord, inboxTouches, MAX_DIRTY, noteChanges } from '../../../../core/syncml-session/inbox';
import { carriedProperties, mergeDeviceItem } from '../../../../core/syncml-session/merge';
import { readClientMessage } from '../../../../core/syncml-session/message';
import { MapIndex, planDatastore } from '../../../../core/syncml-session/plan';
import type { ObjectState } from '../../../../core/syncml-session/ports';
import { Reply } from '../../../../core/syncml-session/reply';
import { message } from '../../../support/syncml-messages';

const state = (objectId: string, version: number, data?: Record<string, string>): ObjectState => ({
  objectId,
  version,
  ...(data ? { data } : {}),
  deleted: data === undefined,
  updatedAt: '2026-11-30T10:00:00Z',
});

describe('planDatastore', () => {
  const base = {
    collection: 'contacts' as const,
    mode: 'two-way' as const,
    full: false,
    resend: new Set<string>(),
    seen: new Set<string>(),
    holds: () => true,
    receives: true,
  };

  it('adds what the device lacks, replaces what it holds older, deletes what is gone, by LUID', () => {
    const map = new MapIndex([
      { objectId: 'a', luid: 'la', version: 1 },
      { objectId: 'b', luid: 'lb', version: 2 },
      { objectId: 'c', luid: 'lc', version: 3 },
    ]);
    const objects = new Map([
      ['a', state('a', 2, { fullName: 'A' })],
      ['b', state('b', 2, { fullName: 'B' })],
      ['c', state('c', 4)],
      ['d', state('d', 1, { fullName: 'D' })],
    ]);
    expect(planDatastore({ ...base, map, objects }).refs).toEqual([
      { collection: 'contacts', op: 'delete', objectId: 'c', luid: 'lc' },
      { collection: 'contacts', op: 'replace', objectId: 'a', luid: 'la' },
      { collection: 'contacts', op: 'add', objectId: 'd' },
    ]);
  });

  it('sends nothing to a device that receives nothing, but still drops stale slow-sync mappings', () => {
    const map = new MapIndex([{ objectId: 'a', luid: 'la', version: 1 }]);
    const plan = planDatastore({
      ...base,
      mode: 'slow',
      full: true,
      map,
      objects: new Map(),
      receives: false,
    });
    expect(plan).toEqual({ refs: [], drop: ['a'] });
  });

  it('deletes from the device what leaves its filter, and resends what it must have again', () => {
    const map = new MapIndex([
      { objectId: 'a', luid: 'la', version: 2 },
      { objectId: 'b', luid: 'lb', version: 5 },
    ]);
    const objects = new Map([
      ['a', state('a', 2, { group: 'work' })],
      ['b', state('b', 5, { group: 'family' })],
    ]);
    const plan = planDatastore({
      ...base,
      map,
      objects,
      resend: new Set(['b']),
      holds: (data) => data?.group === 'family',
    });
    expect(plan.refs.map((r) => [r.op, r.objectId])).toEqual([
      ['delete', 'a'],
      ['replace', 'b'],
    ]);
  });
});

describe('MapIndex', () => {
  it('keeps one pairing per LUID and per object (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('1', '2', '3'), fc.nat(9))),
        (pairs) => {
          const map = new MapIndex();
          for (const [objectId, luid, version] of pairs) map.set({ objectId, luid, version });
          const entries = map.entries();
          expect(new Set(entries.map((e) => e.luid)).size).toBe(entries.length);
          for (const entry of entries) {
            expect(map.byLuid(entry.luid)).toBe(entry);
            expect(map.byObject(entry.objectId)).toBe(entry);
          }
          const last = pairs.at(-1);
          if (last) expect(map.byLuid(last[1])?.objectId).toBe(last[0]);
        },
      ),
    );
  });
});

describe('mergeDeviceItem', () => {
  const current = {
    uid: 'u-1',
    fullName: 'Ada',
    emails: [{ value: 'ada@example.org' }],
    title: 'Countess',
    tags: ['x'],
    'x-unknown': ['X-ABLABEL:home', 'CATEGORIES:friends'],
  };

  it('without the client CTCap: keeps uid, app fields and unknown properties outside SyncHub CTCap', () => {
    const merged = mergeDeviceItem(
      'contacts',
      current,
      { fullName: 'Ada King' },
      carriedProperties('contacts', undefined),
    );
    expect(merged).toEqual({
      fullName: 'Ada King',
      uid: 'u-1',
      tags: ['x'],
      'x-unknown': ['X-ABLABEL:home'],
    });
  });

  it("keeps what the client's CTCap says it cannot store (a phone without e-mail)", () => {
    const carried = carriedProperties('contacts', ['BEGIN', 'END', 'VERSION', 'N', 'FN', 'TEL', 'TITLE']);
    const merged = mergeDeviceItem('contacts', current, { fullName: 'Ada King' }, carried);
    expect(merged).toMatchObject({ emails: [{ value: 'ada@example.org' }], uid: 'u-1' });
    expect(merged.title).toBeUndefined();
    expect(merged['x-unknown']).toEqual(['X-ABLABEL:home', 'CATEGORIES:friends']);
  });

  it('an unknown property the device sent replaces the kept line of that property', () => {
    const merged = mergeDeviceItem(
      'contacts',
      current,
      { fullName: 'Ada', 'x-unknown': ['X-ABLABEL:work'] },
      carriedProperties('contacts', undefined),
    );
    expect(merged['x-unknown']).toEqual(['X-ABLABEL:work']);
  });

  it('an event keeps its app fields; its UID is carried', () => {
    const merged = mergeDeviceItem(
      'events',
      { uid: 'e-1', summary: 'A', location: 'Here', room: 12 },
      { summary: 'B' },
      carriedProperties('events', undefined),
    );
    expect(merged).toEqual({ summary: 'B', room: 12 });
  });
});

describe('readClientMessage', () => {
  it('refuses what cannot be answered, with a 400', () => {
    for (const body of [
      '<SyncML><SyncHdr/><SyncBody/></SyncML>',
      message(1, '').replace('<Source><LocURI>client-1</LocURI></Source>', ''),
      message(1, '').replace(/<Target>.*?<\/Target>/, ''),
      message(1, '').replace('<SessionID>7</SessionID>', '<SessionID>a b</SessionID>'),
    ])
      expect(() => readClientMessage(body)).toThrow(ValidationError);
  });

  it('turns a malformed command into an Invalid one, an unknown one into Unsupported', () => {
    const parsed = readClientMessage(
      message(
        1,
        '<Alert><Data>200</Data></Alert><Status><CmdID>2</CmdID><Data>200</Data></Status><Exec><CmdID>3</CmdID></Exec>',
      ),
    );
    expect(parsed.commands).toEqual([
      { kind: 'Invalid', cmdId: '0', name: 'Alert', reason: 'CmdID is missing' },
      { kind: 'Invalid', cmdId: '2', name: 'Status', reason: 'MsgRef, CmdRef and Data are required' },
      { kind: 'Unsupported', cmdId: '3', name: 'Exec' },
    ]);
  });

  it('drops anchors and URIs it could not echo safely', () => {
    const parsed = readClientMessage(
      message(
        1,
        `<Alert><CmdID>1</CmdID><Data>200</Data><Item><Target><LocURI>contacts</LocURI></Target><Source><LocURI>${'x'.repeat(600)}</LocURI></Source><Meta><Anchor><Last>${'y'.repeat(80)}</Last><Next>ok</Next></Anchor></Meta></Item></Alert>`,
      ),
    );
    expect(parsed.commands[0]).toEqual({
      kind: 'Alert',
      cmdId: '1',
      code: 200,
      items: [{ target: 'contacts', next: 'ok' }],
    });
  });
});

describe('the change feed', () => {
  const codec = syncmlCodecFor('d', { contacts: 'vcard30', events: 'icalendar20' });
  const change = (objectId: string, op: 'add' | 'modify' | 'delete' = 'add') => ({
    op,
    collection: 'contacts',
    objectId,
    version: 1,
    previousVersion: 0,
    ...(op === 'delete' ? {} : { data: { fullName: objectId } }),
    origin: { kind: 'app' } as const,
    updatedAt: '2026-11-30T10:00:00Z',
  });

  it("reads which objects the adapter's messages touch (changes, transactions, resyncs)", () => {
    expect(
      inboxTouches({ seq: 1, type: 'change', payload: codec.encodeChange(change('a', 'delete')) }),
    ).toEqual({
      objects: [{ collection: 'contacts', objectId: 'a' }],
      full: [],
    });
    expect(
      inboxTouches({
        seq: 2,
        type: 'change',
        payload: codec.encodeTransaction!('tx-1', [
          change('b'),
          { ...change('c', 'modify'), collection: 'events' },
        ]),
      }),
    ).toEqual({
      objects: [
        { collection: 'contacts', objectId: 'b' },
        { collection: 'events', objectId: 'c' },
      ],
      full: [],
    });
    expect(
      inboxTouches({ seq: 3, type: 'resync', payload: { reason: 'r', collections: ['events'] } }),
    ).toEqual({
      objects: [],
      full: ['events'],
    });
    expect(inboxTouches({ seq: 4, type: 'resync', payload: { reason: 'lost' } }).full).toBe('all');
    expect(inboxTouches({ seq: 5, type: 'change', payload: '<not-syncml' }).full).toBe('all');
    expect(inboxTouches({ seq: 6, type: 'result', payload: 'x' })).toEqual({ objects: [], full: [] });
  });

  it('notes touches in the datastore records; too many make a full comparison', () => {
    const many = Array.from({ length: MAX_DIRTY + 1 }, (_, i) => ({
      collection: 'contacts',
      objectId: `o${i}`,
    }));
    const noted = noteChanges(
      { contacts: { anchor: 'n1', dirty: { a: 3 }, notes: 3 } },
      [
        {
          objects: [
            { collection: 'events', objectId: 'e' },
            { collection: 'notes', objectId: 'n' },
          ],
          full: [],
        },
        { objects: many, full: [] },
        // A resync of everything: every collection the device may sync as a datastore.
        { objects: [], full: 'all' },
      ],
      ['contacts', 'events', 'work'],
    );
    expect(noted).toEqual({
      contacts: { anchor: 'n1', dirty: {}, full: 4, notes: 4 },
      events: { dirty: {}, full: 1, notes: 1 },
      work: { dirty: {}, full: 1, notes: 1 },
    });
    // Collections that are not datastores of the device (`notes`) are not kept.
    expect(
      noteChanges(
        {},
        [
          {
            objects: [
              { collection: 'events', objectId: 'e' },
              { collection: 'notes', objectId: 'n' },
            ],
            full: [],
          },
        ],
        ['events'],
      ),
    ).toEqual({ events: { dirty: { e: 1 }, notes: 1 } });
  });

  it('a completed session removes only what it compared and no later note named again', () => {
    const planned = { dirty: { a: 1, b: 2 }, notes: 2 };
    // Another session of the device noted b again, and c, after this one read the record.
    const [current] = Object.values(
      noteChanges(
        { contacts: planned },
        [
          {
            objects: [
              { collection: 'contacts', objectId: 'b' },
              { collection: 'contacts', objectId: 'c' },
            ],
            full: [],
          },
        ],
        ['contacts'],
      ),
    );
    const done = {
      anchor: 'n2',
      serverAnchor: 's2',
      compared: planned.dirty,
      comparedFull: undefined,
      failed: ['d'],
    };
    expect(completedRecord(current, done)).toEqual({
      anchor: 'n2',
      serverAnchor: 's2',
      dirty: { b: 3, c: 3, d: 4 },
      notes: 4,
    });
    // A full compare settles the "full" it read, never one asked for after it.
    const full = { dirty: {}, full: 5, notes: 5 };
    const settled = { ...done, compared: {}, comparedFull: 5, failed: [] };
    expect(completedRecord(full, settled)).toEqual({ anchor: 'n2', serverAnchor: 's2', dirty: {}, notes: 5 });
    expect(completedRecord({ ...full, full: 6, notes: 6 }, settled)).toMatchObject({ full: 6 });
    expect(completedRecord(full, { ...settled, comparedFull: 'none' })).toMatchObject({ full: 5 });
    expect(completedRecord(undefined, { ...settled, comparedFull: 'none' })).toEqual({
      anchor: 'n2',
      serverAnchor: 's2',
      dirty: {},
      notes: 0,
    });
  });
});

describe('datastores', () => {
  it("name a collection with a kind, or by a common name the kind's namesake collection", () => {
    const kinds: Record<string, 'contacts' | 'events'> = {
      contacts: 'contacts',
      events: 'events',
      work: 'contacts',
    };
    const kindOf = (collection: string) => (Object.hasOwn(kinds, collection) ? kinds[collection] : undefined);
    expect(datastoreOf('./work', kindOf)).toEqual({ collection: 'work', kind: 'contacts' });
    expect(datastoreOf('https://h/v1/syncml/events/', kindOf)).toEqual({
      collection: 'events',
      kind: 'events',
    });
    expect(datastoreOf('card', kindOf)).toEqual({ collection: 'contacts', kind: 'contacts' });
    expect(datastoreOf('./Calendar', kindOf)).toEqual({ collection: 'events', kind: 'events' });
    expect(datastoreOf('./notes', kindOf)).toBeUndefined();
    expect(datastoreOf('', kindOf)).toBeUndefined();
    // A common name follows the kind of its namesake: `contacts` made a calendar takes no `card`.
    const retyped = (collection: string) => (collection === 'contacts' ? 'events' : kindOf(collection));
    expect(datastoreOf('card', retyped)).toBeUndefined();
    expect(datastoreOf('contacts', retyped)).toEqual({ collection: 'contacts', kind: 'events' });
  });
});

describe('Reply', () => {
  it('never grows past its size with commands; statuses always go in', () => {
    const reply = new Reply({ version: '1.2', sessionId: '1', msgId: 1, target: 'c', source: 's' }, 1_000);
    reply.status({ msgRef: '1', cmdRef: '0', cmd: 'SyncHdr', code: 200 });
    let added = 0;
    while (reply.command((id) => `<Alert><CmdID>${id}</CmdID><Data>${'x'.repeat(100)}</Data></Alert>`))
      added++;
    const xml = reply.render(true, { clientUri: 'c', serverUri: 's' });
    expect(added).toBeGreaterThan(0);
    expect(Buffer.byteLength(xml)).toBeLessThanOrEqual(1_000);
  });
});
