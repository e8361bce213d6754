/**
 * `npm run soak`: N devices of one user and M app writes (puts, deletes, transactions) through
 * SyncHub on the local emulators, checked at the end: every device equals the server, with 0
 * lost, 0 duplicated and 0 seq gaps. Then the same again while faults are injected: DynamoDB
 * Local paused (SIGSTOP) for several seconds, the SQS emulator failing a fraction of calls,
 * functions throwing on a fraction of records, the runtime killed (SIGKILL) and started again
 * mid-run. Prints lost / duplicated / gaps, polls not answered 200, write→device p50 / p99, and
 * the time to converge after the last write. Not part of `npm test`; see RELIABILITY.md.
 *
 *   npm run soak -- --devices 20 --writes 250 --rate 5 --seed 42 --phases clean,faults
 *
 * Loopback only; everything it starts (DynamoDB Local, the runtime process and its fauxqs) is
 * stopped on every exit path, Ctrl-C included.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { makeSqsClient } from '../aws/clients';
import { percentile } from '../bench/stats';
import { localUserToken, SyncHubUser } from '../client/user';
import { type DynamoDbLocal, startDynamoDbLocal } from '../local/dynamodb-local';
import { ensureLocalAwsEnv, LOCAL_REGION } from '../local/emulators';
import { findFreePort } from '../local/free-port';
import {
  addDivergence,
  type Divergence,
  divergenceOf,
  isInStep,
  lostAtServer,
  NO_DIVERGENCE,
  serverState,
} from './soak/check';
import { registerFleet, type SoakDevice } from './soak/fleet';
import { countAnswers, notOk, total } from './soak/http-counter';
import { seededRandom } from './soak/random';
import { startSoakRuntime } from './soak/runtime-handle';
import type { RuntimeFaults } from './soak/runtime-process';
import { type AppSession, COLLECTIONS, planWrites, Writer } from './soak/workload';

const { values: flags } = parseArgs({
  options: {
    devices: { type: 'string', default: '20' },
    writes: { type: 'string', default: '250' },
    rate: { type: 'string', default: '5' },
    objects: { type: 'string' },
    seed: { type: 'string' },
    phases: { type: 'string', default: 'clean,faults' },
    'pause-seconds': { type: 'string', default: '8' },
    'pause-at': { type: 'string', default: '0.25' },
    'restart-at': { type: 'string', default: '0.6' },
    'sqs-fail': { type: 'string', default: '0.02' },
    'throw-fraction': { type: 'string', default: '0.02' },
    'poll-wait': { type: 'string', default: '5' },
    'converge-timeout': { type: 'string', default: '300' },
  },
});

const number = (name: keyof typeof flags, min: number, max: number): number => {
  const value = Number(flags[name]);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`--${name} must be a number from ${min} to ${max}, got "${flags[name]}"`);
  return value;
};

const options = {
  devices: number('devices', 1, 100),
  writes: number('writes', 1, 1_000_000),
  rate: number('rate', 0.1, 1_000),
  seed: flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : number('seed', 0, 2 ** 31),
  pauseSeconds: number('pause-seconds', 0, 120),
  pauseAt: number('pause-at', 0, 1),
  restartAt: number('restart-at', 0, 1),
  sqsFail: number('sqs-fail', 0, 0.5),
  throwFraction: number('throw-fraction', 0, 0.5),
  pollWait: number('poll-wait', 0, 20),
  convergeTimeoutMs: number('converge-timeout', 1, 3_600) * 1000,
};
const objects =
  flags.objects === undefined ? Math.max(30, Math.round(options.writes / 10)) : number('objects', 5, 100_000);
const phases = (flags.phases ?? '').split(',').filter(Boolean);
for (const phase of phases)
  if (phase !== 'clean' && phase !== 'faults')
    throw new Error(`--phases takes clean and/or faults, got "${phase}"`);

const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the faults phase does to the runtime throughout (the pause and the restart are events). */
const faultsOf = (phase: string): RuntimeFaults =>
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

interface PhaseResult {
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

const runPhase = async (phase: string, dynamodb: DynamoDbLocal, logDir: string): Promise<PhaseResult> => {
  const runId = `soak${options.seed.toString(36)}${phase[0]}`;
  const logFile = join(logDir, `${phase}-runtime.log`);
  const runtime = await startSoakRuntime({
    dynamodbEndpoint: dynamodb.endpoint,
    prefix: `${runId}-`,
    port: await findFreePort(),
    faults: faultsOf(phase),
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
    const plan = planWrites(seededRandom(options.seed), options.writes, objects, runId);
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

const report = (result: PhaseResult): boolean => {
  const lost = result.divergence.missing + result.divergence.differing + result.lostAtServer;
  const ok =
    lost === 0 &&
    result.divergence.extra === 0 &&
    result.duplicates === 0 &&
    result.gaps === 0 &&
    result.failedWrites === 0 &&
    result.crashes === 0 &&
    result.convergeMs !== undefined;
  const ms = (value: number) => (Number.isFinite(value) ? seconds(value) : 'n/a');
  const notOkText =
    Object.entries(result.pollsNotOk)
      .map(([status, count]) => `${status}: ${count}`)
      .join(', ') || 'none';
  const deadLettered = Object.entries(result.deadLetters).filter(([, count]) => count > 0);
  say(`
── ${result.phase} ${ok ? '✓' : '✗'} ─────────────────────────────────────────────
  faults injected           ${result.injected.dependencies} SQS calls failed, ${result.injected.functions} function invocations made to throw${result.events
    .filter((line) => /paused|killed/.test(line))
    .map((line) => `; ${line.replace(/ \(.*\)/, '')}`)
    .join('')}
  writes                    ${result.writes} app writes (${result.objectWrites} object writes, transaction members counted) in ${result.writeSeconds.toFixed(1)} s
  lost                      ${lost}  (missing on a device ${result.divergence.missing}, other data ${result.divergence.differing}, acknowledged but not on the server ${result.lostAtServer})
  back from the dead        ${result.divergence.extra}  (held by a device, not live on the server)
  duplicated                ${result.duplicates}  (an object version seen twice as a new change)
  seq gaps                  ${result.gaps}
  polls not answered 200    ${total(result.pollsNotOk)} of ${result.polls}  (${notOkText})
  write→device              p50 ${ms(percentile(result.latencies, 50))}, p99 ${ms(percentile(result.latencies, 99))}, max ${ms(result.latencies.length ? Math.max(...result.latencies) : Number.NaN)}  (${result.deliveredAsMessages} of ${result.deliveriesExpected} deliveries as messages; the rest by resync)
  p50 along the run         ${result.byTenth.map((value) => (Number.isFinite(value) ? (value / 1000).toFixed(0) : '-')).join(' · ')} s  (each tenth of the writes)
  converged after last write ${result.convergeMs === undefined ? 'NO (deadline passed)' : seconds(result.convergeMs)}
  resyncs                   ${result.resyncs} (${result.resyncNotices} told by the server that messages were lost, the rest a patch that did not apply); versions differing with equal data: ${result.divergence.versionOnly}
  device calls failed       ${result.deviceFailures} (after the SDK's retries; the loop carried on); acks refused 409: ${result.ackConflicts}
  app writes                ${result.writerAmbiguous} without a clear answer, ${result.writerTookWithoutAnswer} made although unanswered (read back, or a transaction's repeat answered as a replay), ${result.unexpectedConflicts} unexpected conflicts, ${result.failedWrites} failed for good
  dead-lettered             ${deadLettered.length === 0 ? 'nothing' : deadLettered.map(([queue, count]) => `${queue}: ${count}`).join(', ')} (since the last start of the runtime)
  runtime crashes           ${result.crashes}; ERROR log lines ${result.errorLines} (${result.logFile})`);
  return ok;
};

const main = async () => {
  ensureLocalAwsEnv();
  const logDir = mkdtempSync(join(tmpdir(), 'synchub-soak-'));
  say(
    `SyncHub soak — seed ${options.seed} (replay: npm run soak -- --seed ${options.seed} --devices ${options.devices} --writes ${options.writes} --rate ${options.rate})`,
  );
  say(
    `  ${options.devices} devices of one user (json and jsonpatch), ${options.writes} app writes at ${options.rate}/s over ${objects} objects; phases: ${phases.join(', ')}`,
  );
  if (phases.includes('faults'))
    say(
      `  faults: DynamoDB Local paused ${options.pauseSeconds} s at ${options.pauseAt * 100} % of the writes, runtime killed and restarted at ${options.restartAt * 100} %, SQS calls failing ${options.sqsFail * 100} %, functions throwing on ${options.throwFraction * 100} % of records`,
    );
  say(`  logs: ${logDir}`);
  const dynamodb = await startDynamoDbLocal();
  let allOk = true;
  try {
    for (const phase of phases) {
      say(`\n${phase === 'clean' ? 'Clean run' : 'Under faults'}…`);
      allOk = report(await runPhase(phase, dynamodb, logDir)) && allOk;
    }
  } finally {
    await dynamodb.stop();
  }
  say(`\n${allOk ? 'PASS' : 'FAIL'} (seed ${options.seed})`);
  process.exitCode = allOk ? 0 : 1;
};

/**
 * npm runs this under `sh -c`, which dies on SIGTERM without passing it on: a soak whose parent
 * went away stops as if signalled, so no wrapper can leave DynamoDB Local or the runtime running.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
}, 1_000).unref();

main().catch((error: unknown) => {
  console.error(`soak failed: ${error instanceof Error ? error.stack : String(error)}`);
  // process.exit runs the exit hooks' synchronous releases (the Java child, the runtime process).
  process.exit(2);
});
