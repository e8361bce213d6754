/**
 * `npm run soak`: N devices of one user and M app writes (puts, deletes, transactions) through
 * SyncHub on the local emulators, checked at the end: every device equals the server, with 0
 * lost, 0 duplicated and 0 seq gaps. Then the same again while faults are injected: DynamoDB
 * Local paused (SIGSTOP) for several seconds, the SQS emulator failing a fraction of calls,
 * functions throwing on a fraction of records, the runtime killed (SIGKILL) and started again
 * mid-run. Prints lost / duplicated / gaps, polls not answered 200, write→device p50 / p99, and
 * the time to converge after the last write. Not part of `npm test`; see RELIABILITY.md.
 *
 *   npm run soak -- --devices 50 --writes 1000 --rate 10 --seed 42 --phases clean,faults
 *
 * Loopback only; everything it starts (DynamoDB Local, the runtime process and its fauxqs) is
 * stopped on every exit path, Ctrl-C included.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { ensureLocalAwsEnv } from '../local/emulators';
import { type Phase, runPhase, type SoakSettings } from './soak/phase';
import { report } from './soak/report';

const { values: flags } = parseArgs({
  options: {
    devices: { type: 'string', default: '50' },
    writes: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '10' },
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

const writes = number('writes', 1, 1_000_000);
const options: SoakSettings = {
  devices: number('devices', 1, 100),
  writes,
  rate: number('rate', 0.1, 1_000),
  seed: flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : number('seed', 0, 2 ** 31),
  pauseSeconds: number('pause-seconds', 0, 120),
  pauseAt: number('pause-at', 0, 1),
  restartAt: number('restart-at', 0, 1),
  sqsFail: number('sqs-fail', 0, 0.5),
  throwFraction: number('throw-fraction', 0, 0.5),
  pollWait: number('poll-wait', 0, 20),
  convergeTimeoutMs: number('converge-timeout', 1, 3_600) * 1000,
  objects:
    flags.objects === undefined ? Math.max(30, Math.round(writes / 10)) : number('objects', 5, 100_000),
};
const phases = (flags.phases ?? '').split(',').filter(Boolean) as Phase[];
for (const phase of phases)
  if (phase !== 'clean' && phase !== 'faults')
    throw new Error(`--phases takes clean and/or faults, got "${phase}"`);

const say = (line: string) => process.stdout.write(`${line}\n`);

const main = async () => {
  ensureLocalAwsEnv();
  const logDir = mkdtempSync(join(tmpdir(), 'synchub-soak-'));
  say(
    `SyncHub soak — seed ${options.seed} (replay: npm run soak -- --seed ${options.seed} --devices ${options.devices} --writes ${options.writes} --rate ${options.rate})`,
  );
  say(
    `  ${options.devices} devices of one user (json and jsonpatch), ${options.writes} app writes at ${options.rate}/s over ${options.objects} objects; phases: ${phases.join(', ')}`,
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
      allOk = report(await runPhase(phase, options, dynamodb, logDir, say), say) && allOk;
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
