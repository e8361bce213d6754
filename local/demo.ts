import { type InboxMessage, SyncHubDevice } from '../client/device';
import { SyncHubUser } from '../client/user';
import { deepEqual } from '../core/json';

/**
 * The newcomer's tour, played against a running SyncHub: one user, three devices on two
 * platforms, app writes flowing out, a device write flowing back, and no echo.
 */
export interface DemoOptions {
  baseUrl: string;
  userToken: string;
  log?: (line: string) => void;
}

const brief = (value: unknown, max = 90): string => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

const describe = (message: InboxMessage): string => {
  if (typeof message.payload === 'string') return `${message.type.padEnd(7)} (a SyncML document)`;
  if (message.type === 'resync') return `resync  ${brief(message.payload)}`;
  if (message.type === 'result') {
    const result = message.payload;
    if (!('pushId' in result)) return `result  transaction ${result.txId} ${result.status}: ${result.reason}`;
    const detail =
      result.status === 'applied'
        ? result.changes
        : result.status === 'conflict'
          ? result.conflicts
          : result.reason;
    return `result  push ${result.status} ${brief(detail, 70)}`;
  }
  const change = message.payload;
  if ('changes' in change) return `change  transaction ${change.txId} of ${change.changes.length} changes`;
  const what = `${change.collection}/${change.objectId} v${change.version}`;
  if ('patch' in change) return `change  ${what} patch ${brief(change.patch)}`;
  if ('deleted' in change || change.op === 'delete') return `change  ${what} delete`;
  return `change  ${what} ${change.op} ${brief(change.data)}`;
};

/** Polls (long-polling) and acknowledges until `done` holds, or fails after `timeoutMs`. */
const syncUntil = async (
  device: SyncHubDevice,
  done: () => boolean,
  timeoutMs = 30_000,
): Promise<InboxMessage[]> => {
  const received: InboxMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline)
      throw new Error(`device ${device.deviceId} did not catch up within ${timeoutMs} ms`);
    received.push(...(await device.sync({ wait: 1 })));
  }
  return received;
};

export const runDemo = async ({ baseUrl, userToken, log = console.log }: DemoOptions): Promise<void> => {
  const app = new SyncHubUser(baseUrl, userToken);
  const step = (text: string) => log(`\n▸ ${text}`);

  step('A user registers three devices (POST /v1/devices)');
  const registrations = {
    phone: await app.registerDevice('json', 'phone'),
    laptop: await app.registerDevice('json', 'laptop'),
    tablet: await app.registerDevice('jsonpatch', 'tablet'),
  };
  const devices = Object.fromEntries(
    Object.entries(registrations).map(([name, r]) => [
      name,
      new SyncHubDevice(baseUrl, r.deviceToken, r.platform, name),
    ]),
  ) as Record<keyof typeof registrations, SyncHubDevice>;
  for (const [name, r] of Object.entries(registrations))
    log(`  ${name.padEnd(7)} ${r.platform.padEnd(9)} ${r.deviceId}`);

  step('The app creates, updates and deletes objects (PUT / DELETE /v1/objects/...)');
  const writes: [string, () => Promise<unknown>][] = [
    [
      'PUT    contacts/ada  {"name":"Ada Lovelace","phone":"+44 20 7946 0000"}',
      () => app.put('contacts', 'ada', { name: 'Ada Lovelace', phone: '+44 20 7946 0000' }),
    ],
    ['PUT    notes/todo    {"text":"buy milk"}', () => app.put('notes', 'todo', { text: 'buy milk' })],
    [
      'PUT    contacts/ada  {"name":"Ada Lovelace","phone":"+44 20 7946 0999","tags":["math"]}',
      () => app.put('contacts', 'ada', { name: 'Ada Lovelace', phone: '+44 20 7946 0999', tags: ['math'] }),
    ],
    ['DELETE notes/todo', () => app.delete('notes', 'todo')],
  ];
  for (const [label, write] of writes) {
    const result = (await write()) as { version?: number } | undefined;
    log(`  ${label}${result?.version ? `  → v${result.version}` : '  → 204'}`);
  }

  step('Each device polls its inbox (GET /v1/sync/messages), applies and acknowledges (POST /v1/sync/ack)');
  for (const [name, device] of Object.entries(devices)) {
    const received = await syncUntil(device, () => device.lastSeq >= 4);
    log(`  ${name}:`);
    for (const message of received) log(`    seq ${message.seq}  ${describe(message)}`);
    log(`    now holds ${brief(device.view())}`);
  }

  step('The laptop edits the contact and pushes it (POST /v1/sync/changes)');
  const base = devices.laptop.versionOf('contacts', 'ada');
  const edited = { ...devices.laptop.get('contacts', 'ada')!, email: 'ada@example.org' };
  const push = await devices.laptop.push([
    { op: 'modify', collection: 'contacts', objectId: 'ada', baseVersion: base, data: edited },
  ]);
  log(`  pushed modify contacts/ada (baseVersion ${base}) → 202 ${brief(push)}`);

  step('The other devices receive it; the laptop gets only its result, no echo');
  const laptopBefore = devices.laptop.lastSeq;
  for (const name of ['phone', 'tablet', 'laptop'] as const) {
    const device = devices[name];
    const received = await syncUntil(device, () =>
      name === 'laptop'
        ? device.results.length > 0
        : device.get('contacts', 'ada')?.email === 'ada@example.org',
    );
    log(`  ${name}:`);
    for (const message of received) log(`    seq ${message.seq}  ${describe(message)}`);
  }
  const echoes = devices.laptop.lastSeq - laptopBefore - 1;
  log(`  laptop received ${echoes} echo(es) of its own change`);

  step('Everyone agrees with the server');
  const server = await app.get('contacts', 'ada');
  log(`  server  contacts/ada v${server.version} ${brief(server.data)}`);
  for (const [name, device] of Object.entries(devices)) {
    const same =
      deepEqual(device.get('contacts', 'ada'), server.data) && device.get('notes', 'todo') === undefined;
    log(`  ${name.padEnd(7)} ${same ? 'in step ✓' : 'DIFFERENT ✗'}`);
    if (!same) throw new Error(`${name} disagrees with the server`);
  }
};
