/**
 * One phase of the soak (scripts/soak.ts): its own runtime process, user and devices; the writes
 * at their rate, with the faults phase's pause and restart on the way; then the wait until every
 * device equals the server, and the figures.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { makeSqsClient } from '../../aws/clients';
import { percentile } from '../../bench/stats';
import { localUserToken, SyncHubUser } from '../../client/user';
import type { DynamoDbLocal } from '../../local/dynamodb-local';
import { LOCAL_REGION } from '../../local/emulators';
import { findFreePort } from '../../local/free-port';
import {
  addDivergence,
  type Divergence,
  divergenceOf,
  isInStep,
  lostAtServer,
  NO_DIVERGENCE,
  serverState,
} from './check';
import { registerFleet, type SoakDevice } from './fleet';
import { countAnswers, notOk, total } from './http-counter';
import { seededRandom } from './random';
import { startSoakRuntime } from './runtime-handle';
import type { RuntimeFaults } from './runtime-process';
import { type AppSession, COLLECTIONS, planWrites, Writer } from './workload';

export type Phase = 'clean' | 'faults';

/** The soak's flags, read (scripts/soak.ts). */
export interface SoakSettings {
  readonly devices: number;
  readonly writes: number;
  readonly rate: number;
  readonly objects: number;
  readonly seed: number;
  readonly pauseSeconds: number;
  readonly pauseAt: number;
  readonly restartAt: number;
  readonly sqsFail: number;
  readonly throwFraction: number;
  readonly pollWait: number;
  readonly convergeTimeoutMs: number;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the faults phase does to the runtime throughout (the pause and the restart are events). */
const faultsOf = (phase: Phase, options: SoakSettings): RuntimeFaults =>
  phase === 'faults'
    ? {
        // The emulator fails a fraction of every SQS request (the SDK's own retries absorb most),
        // and the same fraction of the functions' sends as they see them (the record is retried).
        // The event sources' own deletes and visibility changes then fail only when every attempt
        // does: on AWS those are Lambda's, and a failed one stalls a FIFO group for the queue's
        // 180 s visibility timeout, which would measure that timeout, not SyncHub.
        dependencies:
          options.sqsFail > 0
            ? [
                { service: 'SQS', fault: 'server-error', probability: options.sqsFail, layer: 'attempt' },
                {
                  service: 'SQS',
                  operations: ['SendMessage', 'SendMessageBatch'],
                  fault: 'server-error',
                  probability: options.sqsFail,
                  layer: 'call',
                },
              ]
            : [],
        functions: options.throwFraction > 0 ? [{ probability: options.throwFraction }] : [],
      }
    : {};

export interface PhaseResult {
  phase: string;
  writes: number;
  objectWrites: number;
  deliveriesExpected: number;
  deliveredAsMessages: number;
  divergence: Divergence;
  lostAtServer: number;
  duplicates: number;
  gaps: number;
  resyncs: number;
  resyncNotices: number;
  deviceFailures: number;
  ackConflicts: number;
  pollsNotOk: Record<string, number>;
  polls: number;
  writerAmbiguous: number;
  writerTookWithoutAnswer: number;
  unexpectedConflicts: number;
  failedWrites: number;
  latencies: number[];
  /** Median write→device latency of each tenth of the writes. */
  byTenth: number[];
  writeSeconds: number;
  convergeMs: number | undefined;
  deadLetters: Record<string, number>;
  crashes: number;
  injected: { dependencies: number; functions: number };
  events: string[];
  logFile: string;
  errorLines: number;
}

const deadLetterCounts = async (sqsEndpoint: string, queueUrls: Readonly<Record<string, string>>) => {
  const sqs = makeSqsClient({ sqsEndpoint, region: LOCAL_REGION });
  try {
    const counts: Record<string, number> = {};
    for (const [key, url] of Object.entries(queueUrls)) {
      if (!key.endsWith('dlq')) continue;
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      counts[key] =
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    return counts;
  } finally {
    sqs.destroy();
  }
};

export const runPhase = async (
  phase: Phase,
  options: SoakSettings,
  dynamodb: DynamoDbLocal,
  logDir: string,
  say: (line: string) => void,
): Promise<PhaseResult> => {
  const runId = `soak${options.seed.toString(36)}${phase[0]}`;
  const logFile = join(logDir, `${phase}-runtime.log`);
  const runtime = await startSoakRuntime({
    dynamodbEndpoint: dynamodb.endpoint,
    prefix: `${runId}-`,
    port: await findFreePort(),
    faults: faultsOf(phase, options),
    seed: options.seed,
    logFile,
  });
  const answers = countAnswers();
  const events: string[] = [];
  const started = Date.now();
  const event = (text: string) => {
    events.push(`${seconds(Date.now() - started)}: ${text}`);
    say(`  [${phase}] ${seconds(Date.now() - started)} ${text}`);
  };
  try {
    const userId = `${runId}-user`;
    let user = new SyncHubUser(runtime.baseUrl, await localUserToken(runtime.baseUrl, userId));
    let renewing: Promise<void> | undefined;
    const session: AppSession = {
      current: () => user,
      renew: () => {
        renewing ??= (async () => {
          for (;;) {
            try {
              user = new SyncHubUser(runtime.baseUrl, await localUserToken(runtime.baseUrl, userId));
              return;
            } catch {
              await sleep(1_000);
            }
          }
        })().finally(() => {
          renewing = undefined;
        });
        return renewing;
      },
    };
    const deliveries: { device: number; key: string; at: number }[] = [];
    const devices = await registerFleet(user, options.devices, (device, key, version, at) =>
      deliveries.push({ device, key: `${key}@${version}`, at }),
    );
    for (const device of devices) device.start(options.pollWait);
    event(`${devices.length} devices polling`);

    const writer = new Writer(session);
    const plan = planWrites(seededRandom(options.seed), options.writes, options.objects, runId);
    const pauseAt =
      phase === 'faults' && options.pauseSeconds > 0 ? Math.floor(plan.length * options.pauseAt) : -1;
    const restartAt = phase === 'faults' ? Math.floor(plan.length * options.restartAt) : -1;
    const faultEvents: Promise<void>[] = [];
    // Awaited with the writes; a failure meanwhile must not count as unhandled.
    const faultEvent = (running: Promise<void>) => {
      running.catch(() => {});
      faultEvents.push(running);
    };
    const pending: Promise<void>[] = [];
    let failedWrites = 0;
    const writesStarted = Date.now();
    const progress = setInterval(() => {
      const held = devices.reduce((sum, device) => sum + device.counts.changes, 0);
      event(`${writer.stats.done}/${plan.length} writes acknowledged, ${held} changes applied on devices`);
    }, 15_000);
    try {
      for (const [index, op] of plan.entries()) {
        const due = writesStarted + (index * 1000) / options.rate;
        if (due > Date.now()) await sleep(due - Date.now());
        if (index === pauseAt) {
          faultEvent(
            (async () => {
              event(`DynamoDB Local paused (SIGSTOP of pid ${dynamodb.pid}) for ${options.pauseSeconds} s`);
              dynamodb.pause();
              try {
                await sleep(options.pauseSeconds * 1000);
              } finally {
                dynamodb.resume();
              }
              event('DynamoDB Local resumed (SIGCONT)');
            })(),
          );
        }
        if (index === restartAt) {
          faultEvent(
            (async () => {
              event('runtime killed (SIGKILL: its SQS emulator and every queue with it)');
              await runtime.restart();
              // Its local issuer has a new key: the app signs in again.
              await session.renew();
              event('runtime started again on the same DynamoDB data');
            })(),
          );
        }
        pending.push(
          writer.submit(op).catch((error: unknown) => {
            failedWrites++;
            event(
              `write ${index} failed for good: ${error instanceof Error ? error.message : String(error)}`,
            );
          }),
        );
      }
      await Promise.all([...pending, ...faultEvents]);
    } finally {
      clearInterval(progress);
    }
    const lastWriteAt = Math.max(...writer.acknowledgedAt.values(), writesStarted);
    const writeSeconds = (lastWriteAt - writesStarted) / 1000;
    event(`all ${plan.length} writes acknowledged; waiting for every device to equal the server`);

    // Converged: every device holds exactly the server's live objects.
    let convergeMs: number | undefined;
    let divergence: Divergence = NO_DIVERGENCE;
    const deadline = Date.now() + options.convergeTimeoutMs;
    let lastReport = Date.now();
    for (;;) {
      try {
        const server = await serverState(user, COLLECTIONS);
        const each = devices.map((device) => divergenceOf(server, device.device.objects));
        divergence = each.reduce(addDivergence, NO_DIVERGENCE);
        if (each.every(isInStep)) {
          convergeMs = Date.now() - lastWriteAt;
          break;
        }
        if (Date.now() - lastReport > 15_000) {
          lastReport = Date.now();
          event(`${each.filter((one) => !isInStep(one)).length} devices not yet in step`);
        }
      } catch (error) {
        event(`reading the server failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (Date.now() > deadline) break;
      await sleep(500);
    }
    event(
      convergeMs === undefined
        ? 'NOT converged before the deadline'
        : `converged ${seconds(convergeMs)} after the last write`,
    );
    await Promise.all(devices.map((device) => device.stop()));

    const server = await serverState(user, COLLECTIONS);
    const finalDivergence = devices
      .map((device) => divergenceOf(server, device.device.objects))
      .reduce(addDivergence, NO_DIVERGENCE);
    const sum = (pick: (device: SoakDevice) => number) =>
      devices.reduce((total, device) => total + pick(device), 0);
    const timed = deliveries.flatMap(({ device, key, at }) => {
      const acknowledged = writer.acknowledgedAt.get(key);
      return acknowledged === undefined ? [] : [{ device, key, acknowledged, at }];
    });
    const latencies = timed.map(({ acknowledged, at }) => Math.max(0, at - acknowledged));
    // Every delivery, for a closer look: when its write was acknowledged and when it was applied.
    writeFileSync(
      join(logDir, `${phase}-deliveries.csv`),
      `device,object,acknowledged_ms,applied_ms\n${timed
        .map(
          (one) => `${one.device},${one.key},${one.acknowledged - writesStarted},${one.at - writesStarted}`,
        )
        .join('\n')}\n`,
    );
    // Latency along the run: the median of each tenth of the writes, in acknowledgement order.
    const byTenth = Array.from({ length: 10 }, (_, tenth) => {
      const span = Math.max(1, lastWriteAt - writesStarted);
      const inTenth = timed.filter(
        ({ acknowledged }) => Math.min(9, Math.floor(((acknowledged - writesStarted) / span) * 10)) === tenth,
      );
      return percentile(
        inTenth.map(({ acknowledged, at }) => Math.max(0, at - acknowledged)),
        50,
      );
    });
    const pollsNotOk = notOk(answers.counts, 'GET /v1/sync/messages');
    let errorLines = 0;
    try {
      errorLines = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"level":"ERROR"')).length;
    } catch {
      // No log: nothing logged.
    }
    return {
      phase,
      writes: plan.length,
      objectWrites: writer.stats.objectWrites,
      deliveriesExpected: writer.stats.objectWrites * devices.length,
      deliveredAsMessages: deliveries.length,
      divergence: convergeMs === undefined ? divergence : finalDivergence,
      lostAtServer: lostAtServer(server, writer.known),
      duplicates: sum((device) => device.counts.duplicates),
      gaps: sum((device) => device.counts.gaps),
      resyncs: sum((device) => device.counts.resyncs),
      resyncNotices: sum((device) => device.counts.resyncNotices),
      deviceFailures: sum((device) => device.counts.failures),
      ackConflicts: sum((device) => device.counts.ackConflicts),
      pollsNotOk,
      polls: total(Object.fromEntries(answers.counts.get('GET /v1/sync/messages') ?? [])),
      writerAmbiguous: writer.stats.ambiguous,
      writerTookWithoutAnswer: writer.stats.tookWithoutAnswer,
      unexpectedConflicts: writer.stats.unexpectedConflicts,
      failedWrites,
      latencies,
      byTenth,
      writeSeconds,
      convergeMs,
      deadLetters: await deadLetterCounts(runtime.sqsEndpoint, runtime.queueUrls),
      crashes: runtime.crashes,
      injected: runtime.injected,
      events,
      logFile,
      errorLines,
    };
  } finally {
    answers.restore();
    await runtime.stop();
  }
};
