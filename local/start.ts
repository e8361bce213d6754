/**
 * `npm start`: the whole of SyncHub on this machine. Starts DynamoDB Local and fauxqs on free
 * loopback ports, provisions the tables and queues, runs the event sources and the HTTP gateway
 * with the same handlers as Lambda, plays the demo, then serves until Ctrl-C.
 *
 *   PORT=4000               gateway port (default 4000; 0 picks a free one)
 *   SYNCHUB_DEMO=0          skip the demo
 *   LOG_LEVEL=INFO          handler logs (default WARN)
 *   SYNCHUB_DATA_DIR=…      where DynamoDB Local keeps its tables (default .synchub/local-data)
 *   --fresh, SYNCHUB_FRESH=1  start with empty tables (the data folder is emptied first)
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localUserToken } from '../client/user';
import { runDemo } from './demo';
import { startEmulators } from './emulators';
import { registerExitHook } from './exit-hooks';
import { startRuntime } from './runtime';

const portOf = (raw: string | undefined): number => {
  if (raw === undefined || raw === '') return 4000;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number, got "${raw}"`);
  return port;
};

/** The project's own folder (this file is local/start.ts); `.synchub/` there is git-ignored. */
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const dataDirOf = (raw: string | undefined): string =>
  raw === undefined || raw === '' ? resolve(PROJECT_ROOT, '.synchub', 'local-data') : resolve(raw);

const main = async (): Promise<void> => {
  const port = portOf(process.env.PORT);
  const dataDir = dataDirOf(process.env.SYNCHUB_DATA_DIR);
  const fresh = process.argv.includes('--fresh') || process.env.SYNCHUB_FRESH === '1';
  if (fresh) await rm(dataDir, { recursive: true, force: true });
  console.log('Starting DynamoDB Local and the SQS emulator…');
  const emulators = await startEmulators({ dynamodbDataDir: dataDir });
  registerExitHook({ stop: () => emulators.stop() });
  console.log(
    `  DynamoDB Local  ${emulators.dynamodbEndpoint}  (binds every interface: see README, Security)`,
  );
  console.log(`  SQS (fauxqs)    ${emulators.sqsEndpoint}`);
  console.log(
    `  Data            ${dataDir}  (${fresh ? 'started empty' : 'kept across restarts'}; ` +
      '`npm start -- --fresh` starts empty)',
  );

  let runtime: Awaited<ReturnType<typeof startRuntime>>;
  try {
    runtime = await startRuntime({ endpoints: emulators, prefix: 'synchub-local-', port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${port} is in use; start with another, e.g. PORT=4001 npm start`);
    }
    throw error;
  }
  registerExitHook({ stop: () => runtime.stop() });
  console.log(`  HTTP gateway    ${runtime.baseUrl}`);

  if (process.env.SYNCHUB_DEMO !== '0') {
    console.log('\n── Demo ─────────────────────────────────────────────────────────────');
    // A new user every run: the tables outlive the process, and the demo starts from nothing.
    const demoToken = await localUserToken(runtime.baseUrl, `demo-${randomBytes(4).toString('hex')}`);
    await runDemo({ baseUrl: runtime.baseUrl, userToken: demoToken });
    console.log('\n── Demo done ────────────────────────────────────────────────────────');
  }

  const token = await localUserToken(runtime.baseUrl, 'you');
  console.log(`
SyncHub is serving at ${runtime.baseUrl}   (Ctrl-C stops it and both emulators)

A user token for user "you" (12 h):
  export TOKEN=${token}

Try:
  curl -s -X PUT ${runtime.baseUrl}/v1/objects/notes/hello -H "authorization: Bearer $TOKEN" \\
       -H 'content-type: application/json' -d '{"data":{"text":"hi"}}'
  curl -s -X POST ${runtime.baseUrl}/v1/devices -H "authorization: Bearer $TOKEN" \\
       -H 'content-type: application/json' -d '{"platform":"json","name":"my-phone"}'
  curl -s "${runtime.baseUrl}/v1/sync/messages?wait=5" -H "authorization: Bearer <deviceToken>"
More tokens: curl -s -X POST ${runtime.baseUrl}/v1/local/token -H 'content-type: application/json' -d '{"userId":"alice"}'

Point real sync software at it: register a device of its platform ("couchdb", "dav" or "syncml"
in the POST /v1/devices above), then use its deviceId as user name and its deviceToken as password:
  PouchDB        new PouchDB('${runtime.baseUrl}/v1/couchdb', { auth: { username, password } })
  CardDAV/CalDAV ${runtime.baseUrl}/v1/dav/   (vdirsyncer, Thunderbird, DAVx5; README: CardDAV and CalDAV)
  SyncML         syncURL=${runtime.baseUrl}/v1/syncml   (SyncEvolution; docs/syncml.md)
`);
};

/**
 * npm runs this under `sh -c`, which dies on SIGTERM without passing it on. A process whose
 * parent went away stops as if signalled, so no wrapper can leave the Java child running.
 */
const stopWhenOrphaned = (): void => {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, 1_000).unref();
};

stopWhenOrphaned();
main().catch((error: unknown) => {
  console.error(`\nSyncHub could not start: ${error instanceof Error ? error.message : String(error)}`);
  // process.exit runs the exit hooks' synchronous release, which kills the Java child.
  process.exit(1);
});
