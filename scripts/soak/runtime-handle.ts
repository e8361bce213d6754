import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { registerExitHook } from '../../local/exit-hooks';
import type { FaultCountMessage, ReadyMessage, RuntimeFaults } from './runtime-process';

export interface SoakRuntimeOptions {
  readonly dynamodbEndpoint: string;
  readonly prefix: string;
  /** The gateway's port, kept across restarts so devices keep their base URL. */
  readonly port: number;
  readonly faults: RuntimeFaults;
  readonly seed: number;
  /** Where the runtime's output goes (handler logs, event-source reports). */
  readonly logFile: string;
}

export interface SoakRuntime {
  readonly baseUrl: string;
  /** The current fauxqs and queue URLs (new after every restart). */
  readonly sqsEndpoint: string;
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Kills the runtime process (SIGKILL: no cleanup, queues lost) and starts it again. */
  restart(): Promise<void>;
  /** Stops it for good (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
  /** Times the runtime process ended without being told to (a crash): the soak fails on any. */
  readonly crashes: number;
  /** Faults injected so far, over every start (as last reported, each second, by each start). */
  readonly injected: FaultCountMessage['injected'];
}

const CHILD = fileURLToPath(new URL('./runtime-process.ts', import.meta.url));
const START_TIMEOUT_MS = 120_000;

const tailOf = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').slice(-4_000);
  } catch {
    return '';
  }
};

/** Starts the soak's runtime process and waits until it serves. */
export const startSoakRuntime = async (options: SoakRuntimeOptions): Promise<SoakRuntime> => {
  let child: ChildProcess | undefined;
  let ready: ReadyMessage['ready'] | undefined;
  let starts = 0;
  let crashes = 0;
  const injectedByStart: FaultCountMessage['injected'][] = [];
  const unregister = registerExitHook({
    stop: () => stopChild(),
    // Last resort on any exit: SIGKILL needs no cooperation.
    release: () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  });

  const exitOf = (process: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (process.exitCode !== null || process.signalCode !== null) resolve();
      else process.once('exit', () => resolve());
    });

  const stopChild = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const current = child;
    if (!current) return;
    child = undefined;
    const exited = exitOf(current);
    current.kill(signal);
    const timer = setTimeout(() => current.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const start = async () => {
    starts++;
    const log = openSync(options.logFile, 'a');
    const started = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      stdio: ['ignore', log, log, 'ipc'],
      env: {
        ...process.env,
        SOAK_DYNAMODB_ENDPOINT: options.dynamodbEndpoint,
        SOAK_PREFIX: options.prefix,
        SOAK_PORT: String(options.port),
        SOAK_FAULTS: JSON.stringify(options.faults),
        // Every start draws other faults, reproducibly.
        SOAK_SEED: String(options.seed + starts),
      },
    });
    closeSync(log);
    child = started;
    const startIndex = starts - 1;
    started.on('message', (message: Partial<FaultCountMessage>) => {
      if (message.injected) injectedByStart[startIndex] = message.injected;
    });
    // Stopping sets `child` aside first, so an exit while it is still the child is a crash.
    started.once('exit', () => {
      if (child === started) {
        crashes++;
        child = undefined;
      }
    });
    ready = await new Promise<ReadyMessage['ready']>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the soak runtime did not start within ${START_TIMEOUT_MS / 1000} s`));
      }, START_TIMEOUT_MS);
      const onReady = (message: Partial<ReadyMessage>) => {
        if (!message.ready) return;
        started.off('message', onReady);
        clearTimeout(timer);
        resolve(message.ready);
      };
      started.on('message', onReady);
      started.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `the soak runtime exited (${code ?? signal}) before serving:\n${tailOf(options.logFile)}`,
          ),
        );
      });
    });
  };

  try {
    await start();
  } catch (error) {
    await stopChild('SIGKILL');
    unregister();
    throw error;
  }
  return {
    get baseUrl() {
      return `http://127.0.0.1:${options.port}`;
    },
    get sqsEndpoint() {
      return ready!.sqsEndpoint;
    },
    get queueUrls() {
      return ready!.queueUrls;
    },
    restart: async () => {
      await stopChild('SIGKILL');
      await start();
    },
    stop: async () => {
      await stopChild();
      unregister();
    },
    get crashes() {
      return crashes;
    },
    get injected() {
      return injectedByStart.reduce(
        (total, one) => ({
          dependencies: total.dependencies + (one?.dependencies ?? 0),
          functions: total.functions + (one?.functions ?? 0),
        }),
        { dependencies: 0, functions: 0 },
      );
    },
  };
};
