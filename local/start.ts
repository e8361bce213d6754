/**
 * `npm start`: the whole of SyncHub on this machine. Starts DynamoDB Local and fauxqs on free
 * loopback ports, provisions the tables and queues, runs the event sources and the HTTP gateway
 * with the same handlers as Lambda, plays the demo, then serves until Ctrl-C.
 *
 *   PORT=4000        gateway port (default 4000; 0 picks a free one)
 *   SYNCHUB_DEMO=0   skip the demo
 *   LOG_LEVEL=INFO   handler logs (default WARN)
 */
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

const main = async (): Promise<void> => {
  const port = portOf(process.env.PORT);
  console.log('Starting DynamoDB Local and the SQS emulator…');
  const emulators = await startEmulators();
  registerExitHook({ stop: () => emulators.stop() });
  console.log(
    `  DynamoDB Local  ${emulators.dynamodbEndpoint}  (binds every interface: see README, Security)`,
  );
  console.log(`  SQS (fauxqs)    ${emulators.sqsEndpoint}`);

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
    const demoToken = await localUserToken(runtime.baseUrl, 'demo-user');
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
