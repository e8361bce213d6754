/**
 * The soak's SyncHub: one local runtime with its own fauxqs, in a process of its own, so the soak
 * can kill it (SIGKILL, like a crashed host: the SQS emulator's queues die with it) and start it
 * again on the same DynamoDB Local, whose tables and streams live in the soak's process tree.
 *
 * Configured by the soak through the environment (scripts/soak/runtime-handle.ts):
 *   SOAK_DYNAMODB_ENDPOINT  DynamoDB Local to use
 *   SOAK_PREFIX, SOAK_PORT  table/queue prefix and gateway port (the same across restarts)
 *   SOAK_FAULTS             JSON `RuntimeFaults` (may be empty)
 *   SOAK_SEED               seed of the fault draws
 * Reports `{ ready: { baseUrl, sqsEndpoint, queueUrls } }` over IPC once serving.
 */

import { isTransient } from '../../aws/errors';
import { registerExitHook } from '../../local/exit-hooks';
import { type FaultRule, Faults, type InvocationFaultRule } from '../../local/faults';
import { startFauxqs } from '../../local/fauxqs';
import { startRuntime } from '../../local/runtime';
import { seededRandom } from './random';

export interface RuntimeFaults {
  /** Dependency faults (local/faults.ts `inject`); `when` cannot cross a process boundary. */
  readonly dependencies?: readonly Omit<FaultRule, 'when'>[];
  /** Function faults (local/faults.ts `injectInvocation`). */
  readonly functions?: readonly InvocationFaultRule[];
}

/** Sent every second: how many faults this process has injected so far. */
export interface FaultCountMessage {
  readonly injected: { readonly dependencies: number; readonly functions: number };
}

export interface ReadyMessage {
  readonly ready: {
    readonly baseUrl: string;
    readonly sqsEndpoint: string;
    readonly queueUrls: Readonly<Record<string, string>>;
  };
}

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (this process is started by scripts/soak.ts)`);
  return value;
};

const main = async () => {
  const faults = new Faults(seededRandom(Number(process.env.SOAK_SEED ?? '1')));
  const config = JSON.parse(process.env.SOAK_FAULTS || '{}') as RuntimeFaults;
  const dependencyFaults = (config.dependencies ?? []).map((rule) => faults.inject(rule));
  const functionFaults = (config.functions ?? []).map((rule) => faults.injectInvocation(rule));
  const sum = (injected: { injected: number }[]) => injected.reduce((total, one) => total + one.injected, 0);
  setInterval(() => {
    const counts: FaultCountMessage = {
      injected: { dependencies: sum(dependencyFaults), functions: sum(functionFaults) },
    };
    process.send?.(counts);
  }, 1_000).unref();

  const sqs = await startFauxqs();
  registerExitHook({ stop: () => sqs.stop() });
  const options = {
    endpoints: { dynamodbEndpoint: required('SOAK_DYNAMODB_ENDPOINT'), sqsEndpoint: sqs.endpoint },
    prefix: required('SOAK_PREFIX'),
    port: Number(required('SOAK_PORT')),
    faults,
  };
  // A start during a DynamoDB pause meets timeouts while it provisions: it tries again, as a
  // host coming back would, for up to two minutes.
  const giveUpAt = Date.now() + 120_000;
  let runtime: Awaited<ReturnType<typeof startRuntime>>;
  for (;;) {
    try {
      runtime = await startRuntime(options);
      break;
    } catch (error) {
      if (!isTransient(error) || Date.now() > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  registerExitHook({ stop: () => runtime.stop() });
  const ready: ReadyMessage = {
    ready: { baseUrl: runtime.baseUrl, sqsEndpoint: sqs.endpoint, queueUrls: runtime.provisioned.queueUrls },
  };
  process.send?.(ready);
};

// The soak going away (even killed) takes this process with it.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
main().catch((error: unknown) => {
  console.error(`soak runtime could not start: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
