/**
 * Figure 1: the CPU cost of the pure core per delivery — one object write turned into one
 * adapted message for one device (replica compare with the delta generator, selection, routing
 * decision, platform codec) — next to a plain JSON serialize + parse of the same message, the
 * floor, measured in alternating rounds of the same run so that the ratio survives a noisy
 * machine.
 */
import { planCapture } from '../core/capture';
import { generatorForCollection } from '../core/delta';
import type { Device, JsonObject, LogEntry, Replica, StoredObject } from '../core/model';
import { codecFor } from '../core/platforms';
import { parseSelection } from '../core/selection';
import { planDelivery } from '../core/session/delivery';
import { deviceSession } from '../core/session/device-session';
import { type Summary, summarize } from './stats';

export interface CoreCase {
  platform: string;
  generator: string;
  op: 'add' | 'modify';
}

export interface CoreResult extends CoreCase {
  /** CPU µs per delivery (median of rounds). */
  microsPerDelivery: Summary;
  floorMicros: Summary;
  /** core / floor, per round. */
  ratio: Summary;
  deliveriesPerSecondPerCore: number;
  messageBytes: number;
}

/** A contact of about 700 bytes of JSON, the size of a typical synced record. */
export const sampleContact = (i: number, edit = 0): JsonObject => ({
  name: `Ada Lovelace ${i}`,
  givenName: 'Ada',
  familyName: 'Lovelace',
  emails: [
    { type: 'home', value: `ada${i}@example.org` },
    { type: 'work', value: `ada.lovelace${i}@example.com` },
  ],
  phones: [{ type: 'mobile', value: `+44 20 7946 ${String(i % 10_000).padStart(4, '0')}` }],
  address: { street: '12 St James Square', city: 'London', postcode: 'SW1Y 4JH', country: 'UK' },
  organization: 'Analytical Engine Society',
  title: 'Mathematician',
  birthday: '1815-12-10',
  notes: 'First published algorithm intended for a machine. Met Babbage in 1833.',
  tags: ['math', 'computing', 'history'],
  starred: i % 2 === 0,
  edit,
});

const DEVICE: Device = {
  userId: 'u1',
  deviceId: 'd1',
  platform: 'json',
  settings: { direction: 'two-way' },
  createdAt: '2025-01-01T00:00:00.000Z',
};

const cpuMicros = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** Runs `body` `iterations` times and returns CPU µs per iteration. */
const timeIt = (iterations: number, body: (i: number) => unknown): number => {
  let sink = 0;
  const start = cpuMicros();
  for (let i = 0; i < iterations; i++) if (body(i)) sink++;
  const elapsed = cpuMicros() - start;
  if (sink < 0) console.log(sink);
  return elapsed / iterations;
};

export const runCoreCase = (
  testCase: CoreCase,
  options: { iterations: number; rounds: number },
): CoreResult => {
  const generator = generatorForCollection('contacts', { contacts: testCase.generator });
  const codec = codecFor(testCase.platform);
  const session = deviceSession(DEVICE, {}, parseSelection(''));
  // A pool of distinct objects, so no call sees a cached shape it would not see in production.
  const pool = 64;
  const replicas: (Replica | undefined)[] = [];
  const objects: StoredObject[] = [];
  for (let i = 0; i < pool; i++) {
    const previous = sampleContact(i, 0);
    replicas.push(
      testCase.op === 'add'
        ? undefined
        : {
            collection: 'contacts',
            objectId: `o${i}`,
            version: 1,
            data: previous,
            deleted: false,
            updatedAt: '2025-01-01T00:00:00.000Z',
          },
    );
    objects.push({
      userId: 'u1',
      collection: 'contacts',
      objectId: `o${i}`,
      version: testCase.op === 'add' ? 1 : 2,
      data: { ...previous, notes: `${previous.notes} Edited.`, edit: 1 },
      deleted: false,
      updatedAt: '2025-01-01T00:00:01.000Z',
      origin: { kind: 'app' },
    });
  }
  const deliver = (i: number) => {
    const k = i % pool;
    const plan = planCapture(replicas[k], objects[k]!, generator);
    if (plan.kind !== 'change') throw new Error('expected a change');
    const entry: LogEntry = {
      kind: 'change',
      userId: 'u1',
      logSeq: i + 1,
      change: plan.change,
      at: plan.change.updatedAt,
    };
    return planDelivery(session, [entry], codec, i + 1).messages[0];
  };
  const messages = Array.from({ length: pool }, (_, i) => deliver(i));
  const texts = messages.map((message) => JSON.stringify(message));
  const floor = (i: number) => JSON.parse(JSON.stringify(messages[i % pool])) as unknown;
  // Warm up both paths (JIT) before measuring.
  timeIt(options.iterations, deliver);
  timeIt(options.iterations, floor);
  const core: number[] = [];
  const floors: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const c = timeIt(options.iterations, deliver);
    const f = timeIt(options.iterations, floor);
    core.push(c);
    floors.push(f);
    ratios.push(c / f);
  }
  const micros = summarize(core);
  return {
    ...testCase,
    microsPerDelivery: micros,
    floorMicros: summarize(floors),
    ratio: summarize(ratios),
    deliveriesPerSecondPerCore: 1e6 / micros.median,
    messageBytes: Math.round(texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0) / pool),
  };
};

export const CORE_CASES: CoreCase[] = [
  { platform: 'json', generator: 'replace', op: 'modify' },
  { platform: 'jsonpatch', generator: 'replace', op: 'modify' },
  { platform: 'json', generator: 'fields', op: 'modify' },
  { platform: 'jsonpatch', generator: 'fields', op: 'modify' },
  { platform: 'json', generator: 'jsonpatch', op: 'modify' },
  { platform: 'jsonpatch', generator: 'jsonpatch', op: 'modify' },
  { platform: 'json', generator: 'replace', op: 'add' },
  { platform: 'jsonpatch', generator: 'replace', op: 'add' },
];

export const runCore = (options: { iterations: number; rounds: number }): CoreResult[] =>
  CORE_CASES.map((testCase) => runCoreCase(testCase, options));
