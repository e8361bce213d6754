import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../client/device';
import type { SyncHubUser } from '../../client/user';
import { INBOX_PLATFORM_NAMES } from '../../core/platforms';
import type { Runtime } from '../../local/runtime';
import { type PlatformDevice, platformDevice } from '../support/platform-devices';
import { eventually, newUser, startTestRuntime } from '../support/runtime';

/**
 * Random full-Unicode text — supplementary planes, U+FFFE / U+FFFF, U+0000 and other controls,
 * combining marks, right-to-left marks — written through the objects API and pushed by a device
 * of every platform in the registry reaches every device exactly.
 *
 * U+FFFD is left out: SyncML's parser reads it as the trace of a body that was not UTF-8 (text
 * bodies reach it already decoded), so a SyncML device cannot push it literally.
 */
let runtime: Runtime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

const SPECIAL = [
  '\u0000',
  '\u0001',
  '\u001b',
  '\t',
  '\r\n',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\uFEFF',
  '\uFFFE',
  '\uFFFF',
  '\u0301', // combining acute accent
  '\u200F', // right-to-left mark
  '\u202E', // right-to-left override
  '\u200D', // zero-width joiner
  '😀',
  '👩‍👩‍👧',
  '\u{10FFFF}',
  '\u{1D11E}',
  '"',
  '\\',
  '<',
  '&',
  ']]>',
  ';,:',
];

const text = fc.string({
  unit: fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\uFFFD'),
    fc.constantFrom(...SPECIAL),
  ),
  minLength: 1,
  maxLength: 24,
});

const COLLECTIONS = ['notes', 'contacts', 'things'];

const serverView = async (user: SyncHubUser) => {
  const view: Record<string, JsonObject> = {};
  for (const collection of COLLECTIONS)
    for (const item of await user.list(collection)) view[`${collection}/${item.objectId}`] = item.data;
  return view;
};

/** Members in code-unit order at every level: formats may order them differently. */
const sortedMembers = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortedMembers)
    : typeof value === 'object' && value !== null
      ? Object.fromEntries(
          Object.entries(value)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([key, member]) => [key, sortedMembers(member)]),
        )
      : value;

/** The view as ASCII JSON (every other character escaped), so a failure shows invisible ones. */
const canonical = (view: Record<string, JsonObject>) =>
  JSON.stringify(
    sortedMembers(
      Object.fromEntries(
        Object.entries(view).filter(([key]) =>
          COLLECTIONS.some((collection) => key.startsWith(`${collection}/`)),
        ),
      ),
    ),
  ).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** What a device holds of the expected objects (a couchdb device: without top-level `_` members). */
const heldBy = (device: PlatformDevice, expected: Record<string, JsonObject>) =>
  device.shows
    ? Object.fromEntries(Object.entries(expected).map(([path, data]) => [path, device.shows!(data)]))
    : expected;

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;

describe('any valid text', () => {
  it('written by the app or pushed on any platform reaches every device exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          note: text,
          noteField: text,
          contact: text,
          key: text,
          value: text,
          pushed: fc.array(text, {
            minLength: INBOX_PLATFORM_NAMES.length,
            maxLength: INBOX_PLATFORM_NAMES.length,
          }),
        }),
        async ({ note, noteField, contact, key, value, pushed }) => {
          const user = await newUser(runtime, 'unicode');
          const devices: PlatformDevice[] = [];
          for (const platform of INBOX_PLATFORM_NAMES)
            devices.push(await platformDevice(user, platform, platform));

          const expected: Record<string, JsonObject> = {
            // text alone (SyncML: text/plain when XML can hold it), text among other members,
            // a contact field (vCard), and text as a member name.
            'notes/app-1': { text: note },
            'notes/app-2': { text: note, more: noteField },
            'contacts/app-3': { fullName: contact, note: noteField },
            'things/app-4': { [key]: value, plain: 'x' },
          };
          for (const [path, data] of Object.entries(expected)) {
            const [collection, objectId] = path.split('/') as [string, string];
            await user.put(collection, objectId, data);
          }
          for (const [index, device] of devices.entries()) {
            const data = { text: pushed[index]! };
            await device.add([{ collection: 'notes', objectId: `from-${device.platform}`, data }]);
            expected[`notes/from-${device.platform}`] = data;
          }

          await eventually(
            'the server to hold every write exactly',
            async () => (canonical(await serverView(user)) === canonical(expected) ? true : undefined),
            30_000,
          );
          await Promise.all(
            devices.map((device) =>
              eventually(
                `the ${device.platform} device to hold every write exactly`,
                async () => {
                  await device.sync();
                  return canonical(device.view()) === canonical(heldBy(device, expected)) ? true : undefined;
                },
                30_000,
              ).catch((error) => {
                throw new Error(
                  `${(error as Error).message}\n device:   ${canonical(device.view())}\n expected: ${canonical(heldBy(device, expected))}`,
                );
              }),
            ),
          );
          expect(canonical(await serverView(user))).toBe(canonical(expected));
        },
      ),
      // Each run is a whole pipeline round trip: no shrinking, the failing case is printed.
      {
        numRuns: Number(process.env.FC_RUNS ?? 8),
        endOnFailure: true,
        ...(seed !== undefined ? { seed } : {}),
      },
    );
  }, 300_000);
});
