import { describe, expect, it } from 'vitest';
import {
  etagOf,
  holdingsFingerprint,
  parseSyncToken,
  preconditionsHold,
  syncTokenOf,
} from '../../../../../core/platforms/dav/tokens';

describe('ETags, preconditions and sync tokens', () => {
  it('makes strong, quoted ETags from the version', () => {
    expect(etagOf('contacts', 3)).toBe('"3-c1"');
    expect(etagOf('events', 3)).not.toBe(etagOf('contacts', 3));
  });

  it('evaluates If-Match strongly and If-None-Match weakly', () => {
    const current = '"3-c1"';
    expect(preconditionsHold({}, current)).toBe(true);
    expect(preconditionsHold({ ifMatch: '"3-c1"' }, current)).toBe(true);
    expect(preconditionsHold({ ifMatch: ' "2-c1", "3-c1" ' }, current)).toBe(true);
    expect(preconditionsHold({ ifMatch: '*' }, current)).toBe(true);
    expect(preconditionsHold({ ifMatch: '"2-c1"' }, current)).toBe(false);
    expect(preconditionsHold({ ifMatch: 'W/"3-c1"' }, current)).toBe(false);
    expect(preconditionsHold({ ifMatch: '3-c1' }, current)).toBe(false);
    expect(preconditionsHold({ ifMatch: '*' }, undefined)).toBe(false);
    expect(preconditionsHold({ ifNoneMatch: '*' }, undefined)).toBe(true);
    expect(preconditionsHold({ ifNoneMatch: '*' }, current)).toBe(false);
    expect(preconditionsHold({ ifNoneMatch: 'W/"3-c1"' }, current)).toBe(false);
    expect(preconditionsHold({ ifNoneMatch: '"2-c1"' }, current)).toBe(true);
  });

  it('issues and reads sync tokens; anything else is not one', () => {
    const fingerprint = holdingsFingerprint({
      deviceId: 'd_1',
      collection: 'contacts',
      kind: 'contacts',
      filter: undefined,
    });
    const token = syncTokenOf({ collection: 'contacts', seq: 42, fingerprint });
    expect(parseSyncToken(token)).toEqual({ collection: 'contacts', seq: 42, fingerprint });
    expect(parseSyncToken('http://radicale.org/ns/sync/528f')).toBeUndefined();
    expect(parseSyncToken(`${token}x`)).toBeUndefined();
  });

  it('fingerprints what the device holds: device, kind and filter, key order aside', () => {
    const base = { deviceId: 'd_1', collection: 'contacts', kind: 'contacts' as const };
    const a = holdingsFingerprint({ ...base, filter: { tags: { contains: 'work' }, team: 'x' } });
    expect(holdingsFingerprint({ ...base, filter: { team: 'x', tags: { contains: 'work' } } })).toBe(a);
    expect(holdingsFingerprint({ ...base, filter: { team: 'y', tags: { contains: 'work' } } })).not.toBe(a);
    expect(holdingsFingerprint({ ...base, deviceId: 'd_2', filter: undefined })).not.toBe(
      holdingsFingerprint({ ...base, filter: undefined }),
    );
  });
});
