import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { child, childText } from '../../../../core/platforms/syncml/xml';
import { PLAN_RESERVE_MS, refuseMessage } from '../../../../core/syncml-session/engine';
import { readClientMessage } from '../../../../core/syncml-session/message';
import {
  acknowledge,
  alert,
  item,
  MemoryWorld,
  message,
  type ReplyView,
  Session,
  serverItems,
  sync,
  vcard,
  view,
} from './memory';

const FIXTURE = readFileSync(
  join(import.meta.dirname, '../../../fixtures/syncml/syncevolution-pkg1.xml'),
  'utf8',
);

const statusOf = (reply: ReplyView, cmd: string, ref?: string) =>
  reply.statuses.find(
    (s) => s.cmd === cmd && (ref === undefined || s.sourceRef === ref || s.targetRef === ref),
  );

/** Statuses acknowledging every server item, and a Map of the adds to `luid(objectId)`. */

/** A whole contacts session: init, the client's changes, the server's, the map. */
const fullSync = async (
  world: MemoryWorld,
  options: { code?: number; last?: string; next: string; changes?: string; maxMsgSize?: number },
) => {
  const session = new Session(world);
  const init = await session.send(alert(1, options.code ?? 200, 'contacts', options.next, options.last), {
    ...(options.maxMsgSize ? { maxMsgSize: options.maxMsgSize } : {}),
  });
  let reply = await session.send(sync(2, 'contacts', options.changes ?? ''));
  const replies = [reply];
  while (!reply.final) {
    reply = await session.send(
      `${acknowledge(reply, session.msgId + 1, (id) => `luid-${id}`)}<Alert><CmdID>99</CmdID><Data>222</Data></Alert>`,
      { final: false },
    );
    replies.push(reply);
  }
  const done = await session.send(
    replies.map((r, i) => acknowledge(r, i + 2, (id) => `luid-${id}`)).join(''),
  );
  return { session, init, replies, done };
};

describe('SyncML session engine', () => {
  it('reads a real SyncEvolution init package', () => {
    const parsed = readClientMessage(FIXTURE);
    expect(parsed.header).toMatchObject({
      version: '1.2',
      sessionId: '5',
      msgId: 1,
      target: 'http://synchub.test/v1/syncml',
      cred: { type: 'syncml:auth-basic', format: 'b64', data: 'CREDENTIAL' },
      maxMsgSize: 150000,
    });
    expect(parsed.final).toBe(true);
    expect(parsed.commands.map((c) => c.kind)).toEqual(['Put', 'Get', 'Alert', 'Alert']);
    const alerts = parsed.commands.filter((c) => c.kind === 'Alert');
    expect(alerts.map((a) => a.kind === 'Alert' && a.items[0])).toEqual([
      { target: 'contacts', source: './contacts', next: '20261130T010144Z' },
      { target: 'events', source: './events', next: '20261130T010144Z' },
    ]);
  });

  it('answers init with 212, the DevInf Results and a slow sync per datastore; stores the client DevInf', async () => {
    const world = new MemoryWorld();
    const session = new Session(world);
    const parsed = readClientMessage(FIXTURE);
    const body = FIXTURE.slice(FIXTURE.indexOf('<SyncBody>') + 10, FIXTURE.indexOf('<Final/>'));
    const reply = await session.send(body);
    expect(reply.statuses[0]).toMatchObject({ cmd: 'SyncHdr', cmdRef: '0', code: 212 });
    expect(statusOf(reply, 'Put')?.code).toBe(200);
    expect(statusOf(reply, 'Get')?.code).toBe(200);
    expect(reply.statuses.filter((s) => s.cmd === 'Alert').map((s) => s.code)).toEqual([200, 200]);
    expect(reply.final).toBe(true);
    expect(reply.respUri).toMatch(/\?s=key$/);
    const results = reply.commands.find((c) => c.name === 'Results')!;
    const devinf = child(child(child(results, 'Item'), 'Data'), 'DevInf')!;
    const stores = devinf.children.filter((c) => c.name === 'DataStore');
    expect(stores.map((s) => childText(s, 'SourceRef'))).toEqual(['contacts', 'events']);
    expect(childText(child(stores[0], 'Rx-Pref'), 'CTType')).toBe('text/vcard');
    const props = child(stores[0], 'CTCap')!
      .children.filter((c) => c.name === 'Property')
      .map((p) => childText(p, 'PropName'));
    expect(props).toEqual(expect.arrayContaining(['FN', 'N', 'TEL', 'EMAIL', 'ADR', 'ORG', 'NOTE']));
    expect(props).not.toContain('X-EVOLUTION-FILE-AS');
    const alerts = reply.commands.filter((c) => c.name === 'Alert').map((a) => childText(a, 'Data'));
    expect(alerts).toEqual(['201', '201']);
    expect(world.devinf?.mod).toBe('SyncEvolution');
    expect(world.devinf?.datastores.find((d) => d.uri === './contacts')?.properties['text/vcard']).toContain(
      'X-EVOLUTION-FILE-AS',
    );
    expect(parsed.header.sessionId).toBe('5');
  });

  it('first slow sync: the client gets the app objects, the server the client items; commits after package 5 only', async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', { fullName: 'Ada Lovelace', tags: ['app-only'] });
    world.touched = {};
    const { init, replies, done } = await fullSync(world, {
      code: 201,
      next: 'n1',
      changes: item('Add', 3, 'alice.vcf', vcard('Alice Client', 'TEL;TYPE=CELL:+1 555\nTITLE:\nORG:;;;\n')),
    });
    expect(statusOf(init, 'Alert')?.code).toBe(200);
    const [pkg4] = replies;
    expect(statusOf(pkg4!, 'Add', 'alice.vcf')?.code).toBe(201);
    const sent = serverItems(pkg4!);
    expect(sent).toEqual([expect.objectContaining({ name: 'Add', source: 'ada', datastore: './contacts' })]);
    expect(sent[0]!.data).toContain('FN:Ada Lovelace');
    expect(done.final).toBe(true);
    expect(world.commits).toBe(1);
    const alice = Object.entries(world.live('contacts')).find(([, d]) => d.fullName === 'Alice Client')!;
    // Empty properties are "not set": no title, no organization, nothing kept as x-unknown.
    expect(alice[1]).toEqual({
      name: { family: 'Client', given: 'Alice' },
      fullName: 'Alice Client',
      phones: [{ value: '+1 555', types: ['cell'] }],
    });
    expect(world.mapOf('contacts').sort((a, b) => a.luid.localeCompare(b.luid))).toEqual([
      { objectId: alice[0], luid: 'alice.vcf', version: 1 },
      { objectId: 'ada', luid: 'luid-ada', version: 1 },
    ]);
    expect(world.datastores.contacts).toEqual({
      anchor: 'n1',
      serverAnchor: expect.any(String),
      dirty: {},
      notes: 0,
    });
    expect(world.collected).toBe(1);
  });

  it('two-way from the stored anchor: only changes since, by LUID; nothing changed moves nothing', async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', { fullName: 'Ada' });
    world.app('contacts', 'bob', { fullName: 'Bob' });
    await fullSync(world, { code: 201, next: 'n1' });
    world.app('contacts', 'ada', { fullName: 'Ada King' });
    world.app('contacts', 'bob', undefined);
    world.app('contacts', 'carol', { fullName: 'Carol' });
    const second = await fullSync(world, { code: 200, last: 'n1', next: 'n2' });
    expect(statusOf(second.init, 'Alert')?.code).toBe(200);
    expect(second.init.commands.filter((c) => c.name === 'Alert').map((a) => childText(a, 'Data'))).toEqual([
      '200',
    ]);
    expect(serverItems(second.replies[0]!).map((i) => [i.name, i.target ?? i.source])).toEqual([
      ['Delete', 'luid-bob'],
      ['Replace', 'luid-ada'],
      ['Add', 'carol'],
    ]);
    expect(
      world
        .mapOf('contacts')
        .map((e) => e.objectId)
        .sort(),
    ).toEqual(['ada', 'carol']);
    const third = await fullSync(world, { code: 200, last: 'n2', next: 'n3' });
    expect(serverItems(third.replies[0]!)).toEqual([]);
    expect(
      childText(
        third.replies[0]!.commands.find((c) => c.name === 'Sync'),
        'NumberOfChanges',
      ),
    ).toBe('0');
  });

  it('a Last that is not the stored anchor gets 508 and a slow sync that duplicates nothing', async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', { fullName: 'Ada' });
    await fullSync(world, { code: 201, next: 'n1', changes: item('Add', 3, 'a.vcf', vcard('Alice A')) });
    const objects = structuredClone(world.live('contacts'));
    const second = await fullSync(world, {
      code: 200,
      last: 'lost',
      next: 'n2',
      changes:
        item('Replace', 3, 'a.vcf', vcard('Alice A')) +
        // What the server sent for ada: N is required in vCard 3.0, written empty.
        item('Replace', 4, 'luid-ada', 'BEGIN:VCARD\nVERSION:3.0\nFN:Ada\nN:;;;;\nEND:VCARD\n'),
    });
    expect(statusOf(second.init, 'Alert')?.code).toBe(508);
    expect(second.init.commands.filter((c) => c.name === 'Alert').map((a) => childText(a, 'Data'))).toEqual([
      '201',
    ]);
    expect(serverItems(second.replies[0]!)).toEqual([]);
    expect(world.live('contacts')).toEqual(objects);
    expect([...world.objects.values()].every((o) => o.version === 1)).toBe(true);
  });

  it('a slow sync repeated after an interruption, or by a client that lost its state, duplicates nothing', async () => {
    const world = new MemoryWorld();
    const interrupted = new Session(world);
    await interrupted.send(alert(1, 201, 'contacts', 'n1'));
    await interrupted.send(
      sync(2, 'contacts', item('Add', 3, '0', vcard('Alice A')) + item('Add', 4, '1', vcard('Bob B'))),
    );
    // The client never sent package 5; it starts again, and this time LUID 0 is another item.
    await fullSync(world, {
      code: 201,
      next: 'n2',
      changes: item('Add', 3, '1', vcard('Bob B')) + item('Add', 4, '0', vcard('Carol C')),
    });
    expect(
      Object.values(world.live('contacts'))
        .map((c) => c.fullName)
        .sort(),
    ).toEqual(['Alice A', 'Bob B', 'Carol C']);
    const luids = Object.fromEntries(
      world.mapOf('contacts').map((e) => [world.live('contacts')[e.objectId]?.fullName, e.luid]),
    );
    // Alice is no longer on the client: she was sent back as a new item.
    expect(luids).toEqual({ 'Alice A': 'luid-c1', 'Bob B': '1', 'Carol C': '0' });
  });

  it('a slow sync drops mappings the client no longer has and adds those objects again', async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', { fullName: 'Ada' });
    await fullSync(world, { code: 201, next: 'n1' });
    const second = await fullSync(world, { code: 201, next: 'n2' });
    expect(serverItems(second.replies[0]!).map((i) => [i.name, i.source])).toEqual([['Add', 'ada']]);
  });

  it('a device Replace keeps the uid and app fields it cannot carry; what it can carry and left out is cleared', async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', {
      uid: 'urn:uuid:ada',
      fullName: 'Ada',
      title: 'Countess',
      tags: ['app-only'],
      'x-unknown': ['X-ABLABEL:kept'],
    });
    await fullSync(world, { code: 201, next: 'n1' });
    await fullSync(world, {
      last: 'n1',
      next: 'n2',
      changes: item('Replace', 3, 'luid-ada', vcard('Ada King', 'TITLE:\nNOTE:first computer programme\n')),
    });
    expect(world.live('contacts').ada).toEqual({
      name: { family: 'King', given: 'Ada' },
      fullName: 'Ada King',
      note: 'first computer programme',
      uid: 'urn:uuid:ada',
      tags: ['app-only'],
      'x-unknown': ['X-ABLABEL:kept'],
    });
  });

  it('conflicts follow the collection policy: reject keeps the server copy (419) and sends it', async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', { fullName: 'Ada' });
    await fullSync(world, { code: 201, next: 'n1' });
    world.app('contacts', 'ada', { fullName: 'Ada Server' });
    const { session, replies } = await fullSync(world, {
      last: 'n1',
      next: 'n2',
      changes: item('Replace', 3, 'luid-ada', vcard('Ada Device')),
    });
    expect(statusOf(replies[0]!, 'Replace', 'luid-ada')?.code).toBe(419);
    expect(session.tally).toEqual({ conflicts: 1, refused: 0 });
    expect(serverItems(replies[0]!)).toEqual([
      expect.objectContaining({
        name: 'Replace',
        target: 'luid-ada',
        data: expect.stringContaining('FN:Ada Server'),
      }),
    ]);
    expect(world.live('contacts').ada).toEqual({ fullName: 'Ada Server' });
    expect(world.mapOf('contacts')).toEqual([{ objectId: 'ada', luid: 'luid-ada', version: 2 }]);
  });

  it('client-wins writes the device copy (208) and echoes nothing back', async () => {
    const world = new MemoryWorld();
    world.policy = 'client-wins';
    world.app('contacts', 'ada', { fullName: 'Ada' });
    await fullSync(world, { code: 201, next: 'n1' });
    world.app('contacts', 'ada', { fullName: 'Ada Server' });
    const { replies } = await fullSync(world, {
      last: 'n1',
      next: 'n2',
      changes: item('Replace', 3, 'luid-ada', vcard('Ada Device')),
    });
    expect(statusOf(replies[0]!, 'Replace', 'luid-ada')?.code).toBe(208);
    expect(serverItems(replies[0]!)).toEqual([]);
    expect(world.live('contacts').ada?.fullName).toBe('Ada Device');
  });

  it('statuses per item: 201, 200, 211 for an unknown delete, 415 for content that does not convert', async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', { fullName: 'Ada' });
    await fullSync(world, { code: 201, next: 'n1' });
    const { session, replies } = await fullSync(world, {
      last: 'n1',
      next: 'n2',
      changes:
        item('Add', 3, 'new.vcf', vcard('New One')) +
        item('Delete', 4, 'luid-ada') +
        item('Delete', 5, 'never-seen') +
        item('Add', 6, 'bad.vcf', 'BEGIN:VCARD\nVERSION:9.9\nEND:VCARD\n') +
        item('Add', 7, 'note.txt', 'hello', 'text/plain'),
    });
    const codes = Object.fromEntries(
      replies[0]!.statuses.filter((s) => ['Add', 'Delete'].includes(s.cmd)).map((s) => [s.sourceRef, s.code]),
    );
    expect(codes).toEqual({
      'new.vcf': 201,
      'luid-ada': 200,
      'never-seen': 211,
      'bad.vcf': 415,
      'note.txt': 415,
    });
    expect(Object.values(world.live('contacts')).map((c) => c.fullName)).toEqual(['New One']);
    expect(session.tally).toEqual({ conflicts: 0, refused: 2 });
  });

  it("splits the server's changes at the client's MaxMsgSize; Final only on the last message", async () => {
    const world = new MemoryWorld();
    for (let i = 0; i < 40; i++)
      world.app('contacts', `c${String(i).padStart(2, '0')}`, {
        fullName: `Contact ${i}`,
        note: 'x'.repeat(300),
      });
    const { replies, done } = await fullSync(world, { code: 201, next: 'n1', maxMsgSize: 5_000 });
    expect(replies.length).toBeGreaterThan(3);
    for (const reply of replies.slice(0, -1)) expect(reply.final).toBe(false);
    expect(replies.at(-1)!.final).toBe(true);
    const added = replies.flatMap((r) => serverItems(r).map((i) => i.source));
    expect(added).toHaveLength(40);
    expect(new Set(added).size).toBe(40);
    expect(done.final).toBe(true);
    expect(world.mapOf('contacts')).toHaveLength(40);
    expect(world.mapOf('contacts').every((e) => e.version === 1)).toBe(true);
  });

  it('an interrupted session commits nothing: the next one gets the same changes', async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', { fullName: 'Ada' });
    await fullSync(world, { code: 201, next: 'n1' });
    world.app('contacts', 'bob', { fullName: 'Bob' });
    const broken = new Session(world);
    await broken.send(alert(1, 200, 'contacts', 'n2', 'n1'));
    const pkg4 = await broken.send(sync(2, 'contacts'));
    expect(serverItems(pkg4).map((i) => i.source)).toEqual(['bob']);
    // No package 5: the client gave up. What the feed said is kept, nothing is committed.
    expect(world.commits).toBe(1);
    expect(world.datastores.contacts).toMatchObject({ anchor: 'n1', dirty: { bob: 2 } });
    const retry = await fullSync(world, { last: 'n1', next: 'n2' });
    expect(statusOf(retry.init, 'Alert')?.code).toBe(200);
    expect(serverItems(retry.replies[0]!).map((i) => i.source)).toEqual(['bob']);
  });

  it('server changes of a datastore not in the session wait for its next session', async () => {
    const world = new MemoryWorld();
    await fullSync(world, { code: 201, next: 'n1' });
    world.app('events', 'lunch', { summary: 'Lunch', start: { date: '2026-12-02' } });
    world.app('contacts', 'ada', { fullName: 'Ada' });
    await fullSync(world, { last: 'n1', next: 'n2' });
    expect(world.datastores.events).toEqual({ dirty: { lunch: 1 }, notes: 1 });
    const session = new Session(world);
    await session.send(alert(1, 201, 'events', 'e1'));
    const pkg4 = await session.send(sync(2, 'events'));
    expect(serverItems(pkg4).map((i) => i.source)).toEqual(['lunch']);
  });

  it('items past the time budget get 503 and are not written (the client sends them again)', async () => {
    const world = new MemoryWorld();
    const session = new Session(world);
    await session.send(alert(1, 201, 'contacts', 'n1'));
    session.timeLeft = 0;
    const reply = await session.send(sync(2, 'contacts', item('Add', 3, 'late.vcf', vcard('Late Comer'))));
    expect(statusOf(reply, 'Add', 'late.vcf')?.code).toBe(503);
    expect(world.live('contacts')).toEqual({});
  });

  it("a message whose items took most of its time answers with their statuses; the server's changes follow on Alert 222", async () => {
    const world = new MemoryWorld();
    world.app('contacts', 'ada', { fullName: 'Ada' });
    const session = new Session(world);
    await session.send(alert(1, 201, 'contacts', 'n1'));
    session.timeLeft = PLAN_RESERVE_MS - 1;
    const statuses = await session.send(sync(2, 'contacts', item('Add', 3, 'mine.vcf', vcard('Mine'))));
    expect(statusOf(statuses, 'Add', 'mine.vcf')?.code).toBe(201);
    expect(statuses.final).toBe(false);
    expect(serverItems(statuses)).toEqual([]);
    expect(world.collected).toBe(0);
    session.timeLeft = Number.POSITIVE_INFINITY;
    const changes = await session.send('<Alert><CmdID>1</CmdID><Data>222</Data></Alert>', { final: false });
    expect(serverItems(changes).map((i) => i.source)).toEqual(['ada']);
    expect(changes.final).toBe(true);
  });

  it('a collection the user gave a kind is a datastore of that kind: listed in the DevInf, synced as vCards', async () => {
    const world = new MemoryWorld();
    world.kinds.work = 'contacts';
    world.app('work', 'boss', { fullName: 'The Boss' });
    const session = new Session(world);
    const init = await session.send(
      `<Get><CmdID>1</CmdID><Meta><Type xmlns='syncml:metinf'>application/vnd.syncml-devinf+xml</Type></Meta><Item><Target><LocURI>./devinf12</LocURI></Target></Item></Get>` +
        alert(2, 201, 'work', 'w1'),
    );
    const devinf = child(
      child(
        child(
          init.commands.find((c) => c.name === 'Results'),
          'Item',
        ),
        'Data',
      ),
      'DevInf',
    );
    const stores = devinf!.children.filter((c) => c.name === 'DataStore');
    expect(stores.map((s) => childText(s, 'SourceRef'))).toEqual(['contacts', 'events', 'work']);
    expect(childText(child(stores[2], 'Rx-Pref'), 'CTType')).toBe('text/vcard');
    expect(statusOf(init, 'Alert')?.code).toBe(200);
    const pkg4 = await session.send(sync(3, 'work', item('Add', 4, 'colleague.vcf', vcard('A Colleague'))));
    expect(statusOf(pkg4, 'Add', 'colleague.vcf')?.code).toBe(201);
    expect(
      Object.values(world.live('work'))
        .map((c) => c.fullName)
        .sort(),
    ).toEqual(['A Colleague', 'The Boss']);
    expect(world.live('contacts')).toEqual({});
    const [boss] = serverItems(pkg4);
    expect(boss).toMatchObject({ datastore: './work', name: 'Add', source: 'boss' });
    expect(boss!.data).toMatch(/^BEGIN:VCARD[\s\S]*FN:The Boss/);
  });

  it('an item the store cannot take now gets 503, the others of the message go on', async () => {
    const world = new MemoryWorld();
    const session = new Session(world);
    await session.send(alert(1, 201, 'contacts', 'n1'));
    world.busyFor.add('Busy One');
    const reply = await session.send(
      sync(
        2,
        'contacts',
        item('Add', 3, 'busy.vcf', vcard('Busy One')) + item('Add', 4, 'ok.vcf', vcard('Fine One')),
      ),
    );
    expect(statusOf(reply, 'Add', 'busy.vcf')?.code).toBe(503);
    expect(statusOf(reply, 'Add', 'ok.vcf')?.code).toBe(201);
    expect(Object.values(world.live('contacts')).map((c) => c.fullName)).toEqual(['Fine One']);
    expect(session.tally).toEqual({ conflicts: 0, refused: 0 });
  });

  it('refuses one-way and refresh syncs (406) and unknown datastores (404)', async () => {
    const world = new MemoryWorld();
    const reply = await new Session(world).send(
      alert(1, 202, 'contacts', 'n') + alert(2, 200, 'notes', 'n') + alert(3, 205, 'events', 'n'),
    );
    expect(reply.statuses.filter((s) => s.cmd === 'Alert').map((s) => s.code)).toEqual([406, 404, 406]);
  });

  it('a device that may not write gets 403 per item and writes nothing', async () => {
    const world = new MemoryWorld();
    world.direction = 'to-device';
    const { replies } = await fullSync(world, {
      code: 201,
      next: 'n1',
      changes: item('Add', 3, 'x.vcf', vcard('X Y')),
    });
    expect(statusOf(replies[0]!, 'Add', 'x.vcf')?.code).toBe(403);
    expect(world.live('contacts')).toEqual({});
  });

  it('objects a filter keeps from the device are deleted from it when they leave the filter', async () => {
    const world = new MemoryWorld();
    world.filter = (_c, data) => data?.group === 'family';
    world.app('contacts', 'mum', { fullName: 'Mum', group: 'family' });
    world.app('contacts', 'boss', { fullName: 'Boss', group: 'work' });
    const first = await fullSync(world, { code: 201, next: 'n1' });
    expect(serverItems(first.replies[0]!).map((i) => i.source)).toEqual(['mum']);
    world.app('contacts', 'mum', { fullName: 'Mum', group: 'past' });
    const second = await fullSync(world, { last: 'n1', next: 'n2' });
    expect(serverItems(second.replies[0]!).map((i) => [i.name, i.target])).toEqual([['Delete', 'luid-mum']]);
  });

  it('events are named by their UID, so a second device adding the same event finds it', async () => {
    const world = new MemoryWorld();
    const ics = (summary: string) =>
      `BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:meet-1\nDTSTAMP:20261129T223637Z\nSUMMARY:${summary}\nDTSTART:20261201T100000Z\nEND:VEVENT\nEND:VCALENDAR\n`;
    const session = new Session(world);
    await session.send(alert(1, 201, 'events', 'e1'));
    const pkg4 = await session.send(
      sync(2, 'events', item('Add', 3, 'meet.ics', ics('Meeting'), 'text/calendar')),
    );
    expect(statusOf(pkg4, 'Add', 'meet.ics')?.code).toBe(201);
    expect(world.live('events')).toEqual({
      'meet-1': { summary: 'Meeting', start: { dateTime: '2026-12-01T10:00:00Z' } },
    });
  });

  it('refuses bad credentials with 401 and a basic challenge, never md5', () => {
    const parsed = readClientMessage(message(1, alert(1, 200, 'contacts', 'n')));
    const reply = view(refuseMessage(parsed, 401, { challenge: true }));
    expect(reply.statuses).toEqual([
      expect.objectContaining({ cmd: 'SyncHdr', code: 401, chal: 'syncml:auth-basic' }),
      expect.objectContaining({ cmd: 'Alert', code: 401 }),
    ]);
    expect(reply.final).toBe(true);
    expect(reply.respUri).toBeUndefined();
  });
});
