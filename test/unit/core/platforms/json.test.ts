import { describe, expect, it } from 'vitest';
import type { JsonObject, ObjectChange, Replica } from '../../../../core/model';
import { jsonCodec } from '../../../../core/platforms/json';
import { baseChange, deleteOf, JSON_TYPE, push, rejection } from '../../../support/codecs';

describe('json codec', () => {
  const data: JsonObject = { title: 'Buy milk', done: false };

  it('decodes a modify carrying data', () => {
    const modify = {
      changeId: 'c1',
      op: 'modify',
      collection: 'notes',
      objectId: 'n1',
      baseVersion: 2,
      data,
    };
    expect(jsonCodec.decodePush(push(modify), JSON_TYPE)).toStrictEqual([modify]);
  });

  it('rejects a modify without data, naming the change', () => {
    const ok = { changeId: 'c1', op: 'add', collection: 'notes', objectId: 'n1', data };
    const modify = { changeId: 'c3', op: 'modify', collection: 'notes', objectId: 'n3' };
    rejection(
      () => jsonCodec.decodePush(push(ok, deleteOf('n2'), modify), JSON_TYPE),
      'invalid body: /changes/2/data: required for op "modify"',
    );
  });

  it('rejects a patch member, which this platform does not define', () => {
    const modify = {
      changeId: 'c1',
      op: 'modify',
      collection: 'notes',
      objectId: 'n1',
      data,
      patch: [{ op: 'remove', path: '/a' }],
    };
    rejection(
      () => jsonCodec.decodePush(push(modify), JSON_TYPE),
      'invalid body: /changes/0/patch: unknown field',
    );
  });

  it('encodes add and modify with exactly op, collection, objectId, version and data', () => {
    const add: ObjectChange = { ...baseChange, op: 'add', version: 1, previousVersion: 0, data };
    expect(jsonCodec.encodeChange(add)).toStrictEqual({
      op: 'add',
      collection: 'notes',
      objectId: 'n1',
      version: 1,
      data,
    });
    const modify: ObjectChange = {
      ...baseChange,
      op: 'modify',
      version: 3,
      previousVersion: 2,
      data,
      delta: { kind: 'fields', set: { done: false }, unset: [] },
    };
    expect(jsonCodec.encodeChange(modify)).toStrictEqual({
      op: 'modify',
      collection: 'notes',
      objectId: 'n1',
      version: 3,
      data,
    });
  });

  it('encodes a delete without data', () => {
    const change: ObjectChange = { ...baseChange, op: 'delete', version: 4, previousVersion: 3 };
    expect(jsonCodec.encodeChange(change)).toStrictEqual({
      op: 'delete',
      collection: 'notes',
      objectId: 'n1',
      version: 4,
    });
  });

  it('encodes a snapshot item as an add, and a tombstone as a delete', () => {
    const replica: Replica = {
      collection: 'notes',
      objectId: 'n1',
      version: 5,
      data,
      deleted: false,
      updatedAt: 'x',
    };
    expect(jsonCodec.encodeSnapshotItem(replica)).toStrictEqual({
      op: 'add',
      collection: 'notes',
      objectId: 'n1',
      version: 5,
      data,
    });
    const tombstone: Replica = {
      collection: 'notes',
      objectId: 'n2',
      version: 6,
      deleted: true,
      updatedAt: 'x',
    };
    expect(jsonCodec.encodeSnapshotItem(tombstone)).toStrictEqual({
      op: 'delete',
      collection: 'notes',
      objectId: 'n2',
      version: 6,
    });
  });
});
