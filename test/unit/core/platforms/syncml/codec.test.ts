import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../../../core/model';
import { assertPushMediaType } from '../../../../../core/platforms/codec';
import { decodeContent, decodeSyncmlPush, syncmlCodecFor } from '../../../../../core/platforms/syncml/codec';
import { child, parseXml } from '../../../../../core/platforms/syncml/xml';

const push = (items: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>7</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody><Sync><CmdID>1</CmdID><Target><LocURI>contacts</LocURI></Target>${items}</Sync><Final/></SyncBody></SyncML>`;
const add = (cmd: number, id: string, data: string) =>
  `<Add><CmdID>${cmd}</CmdID><Meta><Type>text/vcard</Type></Meta><Item><Source><LocURI>${id}</LocURI></Source><Data><![CDATA[${data}]]></Data></Item></Add>`;

describe('syncml push decoding', () => {
  const MT = 'application/vnd.syncml+xml';
  it('converts good items and rejects bad ones without failing the push', () => {
    const { writes, rejected } = decodeSyncmlPush(
      push(add(2, 'ada', 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\nEND:VCARD') + add(3, 'bad', 'not a vcard')),
    );
    expect(writes).toEqual([
      { changeId: '7.1.2', op: 'add', collection: 'contacts', objectId: 'ada', data: { fullName: 'Ada' } },
    ]);
    expect(rejected).toEqual([expect.objectContaining({ changeId: '7.1.3', objectId: 'bad' })]);
  });
  it.each([
    [
      'an external entity',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><SyncML>&e;</SyncML>',
      400,
    ],
    ['a billion laughs', `<!DOCTYPE l [<!ENTITY a "ha">${'<!ENTITY b "&a;&a;">'}]><SyncML>&b;</SyncML>`, 400],
    ['deep nesting', `<SyncML>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</SyncML>`, 400],
    ['a huge document', `<SyncML>${'x'.repeat(1_000_000)}</SyncML>`, 413],
    ['an undefined entity', '<SyncML>&nope;</SyncML>', 400],
    ['another root', '<html/>', 400],
  ])('refuses %s with a 4xx', (_, body, status) => {
    expect(() => decodeSyncmlPush(body)).toThrow(expect.objectContaining({ status }));
  });
  it.each([
    ['U+0000', '\u0000'],
    ['U+0001', '\u0001'],
    ['ESC', '\u001b'],
    ['U+FFFF', '\uFFFF'],
    ['U+FFFE', '\uFFFE'],
    ['an unpaired surrogate', '\ud83d'],
    ['a reference to U+FFFF', '&#xFFFF;'],
    ['a reference to ESC', '&#27;'],
  ])('refuses %s, which XML 1.0 forbids, with a 400 that says where', (_, text) => {
    const body = push(
      add(2, 'ada', `BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada${text}\r\nEND:VCARD`)
        .replace('<![CDATA[', '')
        .replace(']]>', ''),
    );
    expect(() => decodeSyncmlPush(body)).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringMatching(/XML|not an XML character/) }),
    );
  });
  it('takes characters beyond U+FFFF, combining and RTL marks as they are', () => {
    const { writes } = decodeSyncmlPush(
      push(add(2, 'ada', 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A😀d\u0301a\u200F\r\nEND:VCARD')),
    );
    expect(writes[0]?.data).toEqual({ fullName: 'A😀d\u0301a\u200F' });
  });
  it('rejects an item whose JSON spells half a surrogate pair, naming the member', () => {
    const json = `<Add><CmdID>2</CmdID><Meta><Type>application/json</Type></Meta><Item><Source><LocURI>n1</LocURI></Source><Data>{"t":"\\ud83d"}</Data></Item></Add>`;
    const { writes, rejected } = decodeSyncmlPush(push(json));
    expect(writes).toEqual([]);
    expect(rejected).toEqual([
      expect.objectContaining({ objectId: 'n1', reason: expect.stringContaining('t is not valid Unicode') }),
    ]);
  });
  it('writes text XML cannot hold so that it arrives exactly', () => {
    const codec = syncmlCodecFor('d1', { contacts: 'vcard30', events: 'icalendar20' });
    const texts = ['nul \u0000', 'nonchar \uFFFF \uFFFE', 'esc \u001b', 'emoji 😀', 'plain'];
    for (const text of texts) {
      for (const [collection, data] of [
        ['notes', { text }],
        ['contacts', { fullName: text, note: text }],
        ['things', { t: text }],
      ] as const) {
        const doc = String(
          codec.encodeChange({
            op: 'add',
            collection,
            objectId: 'o1',
            version: 1,
            previousVersion: 0,
            data,
            origin: { kind: 'app' },
            updatedAt: '2024-01-01T00:00:00Z',
          }),
        );
        const sync = child(child(parseXml(doc), 'SyncBody'), 'Sync');
        const item = child(child(sync, 'Add'), 'Item')!;
        const type = child(child(item, 'Meta'), 'Type')?.text;
        expect(decodeContent(collection, 'o1', type, child(item, 'Data')!.text)).toEqual(data);
      }
    }
  });
  it('takes pushes of its own media type only (checked at the edge), refusing others with 415', () => {
    const codec = syncmlCodecFor('d1', { contacts: 'vcard30', events: 'icalendar20' });
    expect(assertPushMediaType(codec, `${MT}; charset=UTF-8`)).toBe(MT);
    expect(() => assertPushMediaType(codec, 'application/json')).toThrow(
      expect.objectContaining({ status: 415 }),
    );
  });
  it('writes the format the device settings ask for', () => {
    const codec = syncmlCodecFor('d1', { contacts: 'vcard21', events: 'vcalendar10' });
    const doc = codec.encodeChange({
      op: 'add',
      collection: 'contacts',
      objectId: 'ada',
      version: 1,
      previousVersion: 0,
      data: { fullName: 'Ädä' },
      origin: { kind: 'app' },
      updatedAt: '2024-01-01T00:00:00Z',
    });
    expect(doc).toContain('<Type>text/x-vcard</Type>');
    expect(doc).toContain('VERSION:2.1');
    const del = codec.encodeChange({
      op: 'delete',
      collection: 'contacts',
      objectId: 'ada',
      version: 2,
      previousVersion: 1,
      origin: { kind: 'app' },
      updatedAt: '2024-01-01T00:00:00Z',
    });
    expect(del).toMatch(/<Delete><CmdID>2<\/CmdID><Item><Target><LocURI>ada<\/LocURI>/);
  });
});

describe('syncml transactions', () => {
  it('sends a transaction as one message whose Syncs sit in one Atomic', () => {
    const codec = syncmlCodecFor('d1', { contacts: 'vcard30', events: 'icalendar20' });
    const change = (collection: string, objectId: string, data: JsonObject) => ({
      op: 'add' as const,
      collection,
      objectId,
      version: 1,
      previousVersion: 0,
      data,
      origin: { kind: 'app' as const },
      updatedAt: '2024-01-01T00:00:00Z',
    });
    const doc = String(
      codec.encodeTransaction!('tx_1', [
        change('contacts', 'ada', { fullName: 'Ada' }),
        change('notes', 'n1', { text: 'hello' }),
      ]),
    );
    expect(doc.match(/<Atomic>/g)).toHaveLength(1);
    const atomic = doc.slice(doc.indexOf('<Atomic>'), doc.indexOf('</Atomic>'));
    expect(atomic.match(/<Sync>/g)).toHaveLength(2);
    expect(atomic).toContain('<LocURI>ada</LocURI>');
    expect(atomic).toContain('<LocURI>n1</LocURI>');
  });
});
