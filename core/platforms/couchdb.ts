import { docIdOf } from '../couchdb/documents';
import { ForbiddenError } from '../errors';
import type { JsonValue, ObjectChange, PushResult, Replica, TransactionOutcome } from '../model';
import type { PlatformCodec } from './codec';

/**
 * The CouchDB platform (docs/couchdb.md). Its devices speak the CouchDB replication protocol
 * through `{base}/v1/couchdb` (functions/couchdb/), which serves each document's revisions from
 * the shared revision tree at read time. So an inbox message only says which documents the
 * device must be shown, in order: `{"ids": ["collection:objectId", ...]}`, a transaction's in
 * one message (one `_changes` response).
 */

const ids = (refs: readonly { collection: string; objectId: string }[]): JsonValue => ({
  ids: [...new Set(refs.map(docIdOf))],
});

export const couchdbCodec: PlatformCodec = {
  name: 'couchdb',
  delivery: 'inbox',
  pushContentTypes: ['application/json'],
  front: { path: '/v1/couchdb', docs: 'docs/couchdb.md' },

  encodeChange: (change: ObjectChange) => ids([change]),

  encodeTransaction: (txId: string, changes: readonly ObjectChange[]) => ({
    txId,
    ...(ids(changes) as { ids: string[] }),
  }),

  /** The objects whose server state differs from what the device pushed: it re-reads them. */
  encodeResult: (result: PushResult) =>
    result.status === 'applied'
      ? ids(result.resolutions ?? [])
      : result.status === 'conflict'
        ? ids(result.conflicts)
        : ids([]),

  encodeOutcome: (outcome: TransactionOutcome) => ids(outcome.objects),

  encodeSnapshotItem: (replica: Replica) => ({
    id: docIdOf(replica),
    version: replica.version,
    ...(replica.deleted ? { deleted: true } : {}),
  }),

  decodePush(): never {
    throw new ForbiddenError('a couchdb device replicates through {base}/v1/couchdb/_bulk_docs');
  },
};
