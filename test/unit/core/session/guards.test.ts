import { describe, expect, it } from 'vitest';
import { collectionRefusal, pushRefusal, readRefusal, writeRefusal } from '../../../../core/session/guards';
import { session } from '../../../support/session';

describe('guards', () => {
  it('lets a to-device device read but not push, and a from-device device push but not read', () => {
    expect(pushRefusal(session('a', { direction: 'to-device' }))).toEqual({
      reason: 'direction',
      detail: `this device's direction is "to-device"; it may not push changes`,
    });
    expect(readRefusal(session('a', { direction: 'to-device' }))).toBeUndefined();
    expect(readRefusal(session('a', { direction: 'from-device' }))).toEqual({
      reason: 'direction',
      detail: `this device's direction is "from-device"; nothing is sent to it`,
    });
    expect(pushRefusal(session('a', { direction: 'from-device' }))).toBeUndefined();
    expect(pushRefusal(session('a'))).toBeUndefined();
  });

  it('refuses collections the deployment does not sync and those outside the device settings', () => {
    const device = session('a', { collections: ['notes', 'audit'] }, {}, 'audit');
    expect(collectionRefusal(device, 'notes')).toBeUndefined();
    expect(collectionRefusal(device, 'audit')?.reason).toBe('collection-not-synced');
    expect(collectionRefusal(device, '_private')).toEqual({
      reason: 'collection-not-synced',
      detail: 'collection "_private" is not synced',
    });
    expect(collectionRefusal(device, 'tasks')).toEqual({
      reason: 'collection-not-in-settings',
      detail: `collection "tasks" is not in this device's settings`,
    });
  });

  it('lets a device write only what it may push into its own collections', () => {
    expect(writeRefusal(session('a', { direction: 'to-device' }), 'notes')?.reason).toBe('direction');
    expect(writeRefusal(session('a', { collections: ['tasks'] }), 'notes')?.reason).toBe(
      'collection-not-in-settings',
    );
    expect(writeRefusal(session('a', { collections: ['notes'] }), 'notes')).toBeUndefined();
  });
});
