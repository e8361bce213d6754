import { describe, expect, it } from 'vitest';
import { collectionDigests } from '../../../core/digest';

describe('digests', () => {
  it('depend on the set of objects and versions, not on their order', () => {
    const a = collectionDigests([
      { collection: 'n', objectId: 'b', version: 2 },
      { collection: 'n', objectId: 'a', version: 1 },
      { collection: 't', objectId: 'x', version: 1 },
    ]);
    const b = collectionDigests([
      { collection: 't', objectId: 'x', version: 1 },
      { collection: 'n', objectId: 'a', version: 1 },
      { collection: 'n', objectId: 'b', version: 2 },
    ]);
    expect(a).toEqual(b);
    expect(a.n!.count).toBe(2);
    const c = collectionDigests([
      { collection: 'n', objectId: 'a', version: 1 },
      { collection: 'n', objectId: 'b', version: 3 },
    ]);
    expect(c.n!.digest).not.toBe(a.n!.digest);
  });
});
