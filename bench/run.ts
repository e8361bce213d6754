/**
 * `npm run bench`: SyncHub's speed, cost and scale on the local runtime, side by side with a
 * CouchDB-protocol peer, in one run. Prints a table (one line of explanation per figure) and
 * writes every figure as JSON to bench-results/.
 *
 *   npm run bench              default mode, under 10 minutes on 2 cores
 *   npm run bench -- --quick   under 2 minutes, smaller loads, fewer repeats
 *   npm run bench -- --full    the issue's full load (M = 5,000 changes flat out), 100k resync
 *   options: --devices N  --changes M  --rate W  --repeats K  --out DIR
 *
 * Every comparing figure is a ratio measured in this run; repeated figures show the median and
 * the spread (± half the range, relative to the median).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { makeDynamoClient, makeSqsClient } from '../aws/clients';
import { localUserToken, SyncHubUser } from '../client/user';
import { FUNCTIONS } from '../lib/definition';
import { type Emulators, startEmulators } from '../local/emulators';
import { registerExitHook } from '../local/exit-hooks';
import { type Runtime, startRuntime } from '../local/runtime';
import { barChart, latencyChart, stageChart } from './charts';
import { type CoreResult, runCore } from './core';
import { economyOf } from './economy';
import { type BundleResult, measureBundles } from './footprint';
import { AwsMeter } from './meter';
import { type PeerServer, runPeerLoad, startPeerServer } from './peer';
import { runPouchReplication } from './pouch';
import { PRICES } from './pricing';
import { fmt, fmtSummary, percentile, ratio, summarize } from './stats';
import {
  measureCapture,
  measureIdlePolls,
  type PayloadSizes,
  readLog,
  registerUser,
  runSyncHubLoad,
  STAGE_NAMES,
  type SyncHubSetup,
  seedReplicas,
  stageBreakdown,
} from './synchub';
import { cpuSecondsOf, javaChild, machine, sampleMemory } from './system';
import { DISTRIBUTION_POINTS, summarizeLoad, type WritePlan } from './workload';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    devices: { type: 'string' },
    changes: { type: 'string' },
    rate: { type: 'string' },
    repeats: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
  },
});

const MODE = args.full ? 'full' : args.quick ? 'quick' : 'default';
const PROFILES = {
  quick: {
    coreIterations: 5_000,
    coreRounds: 3,
    initRepeats: 3,
    rateSeconds: 6,
    pairs: 1,
    flatChanges: 150,
    flatPairs: 1,
    deviceScale: [1, 5, 20, 100],
    scaleDeliveries: 600,
    scaleMaxWrites: 150,
    bursts: [1, 10, 100],
    burstWrites: [10, 30, 100],
    resync: [1_000],
    idlePolls: 2,
    idleWait: 2,
    captureObjects: 400,
    pouchDocs: 200,
    pouchEdits: 10,
  },
  default: {
    coreIterations: 20_000,
    coreRounds: 5,
    initRepeats: 5,
    rateSeconds: 20,
    pairs: 3,
    flatChanges: 600,
    flatPairs: 2,
    deviceScale: [1, 5, 20, 100],
    scaleDeliveries: 2_000,
    scaleMaxWrites: 500,
    bursts: [1, 10, 100],
    burstWrites: [20, 100, 300],
    resync: [1_000, 10_000],
    idlePolls: 3,
    idleWait: 5,
    captureObjects: 2_000,
    pouchDocs: 1_000,
    pouchEdits: 20,
  },
  full: {
    coreIterations: 50_000,
    coreRounds: 7,
    initRepeats: 7,
    rateSeconds: 60,
    pairs: 3,
    flatChanges: 5_000,
    flatPairs: 1,
    deviceScale: [1, 5, 20, 100],
    scaleDeliveries: 5_000,
    scaleMaxWrites: 500,
    bursts: [1, 10, 100],
    burstWrites: [30, 200, 1_000],
    resync: [1_000, 10_000, 100_000],
    idlePolls: 3,
    idleWait: 20,
    captureObjects: 5_000,
    pouchDocs: 5_000,
    pouchEdits: 50,
  },
} as const;
const profile = PROFILES[MODE];
const intArg = (raw: string | undefined, fallback: number) =>
  raw === undefined ? fallback : Math.max(1, Number.parseInt(raw, 10));
const DEVICES = intArg(args.devices, 20);
const FLAT_CHANGES = intArg(args.changes, profile.flatChanges);
/** Below SyncHub's local capacity at 20 devices (~200 deliveries/s): latency, not backlog. */
const RATE = intArg(args.rate, 5);
const PAIRS = intArg(args.repeats, profile.pairs);
const FLAT_PAIRS = intArg(args.repeats, profile.flatPairs);
const CONCURRENCY = 8;
const POLL_WAIT_SECONDS = 2;

const log = (message: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
const started = Date.now();

interface Owned {
  emulators?: Emulators;
  runtime?: Runtime;
  peer?: PeerServer;
}
const owned: Owned = {};
const stopAll = async () => {
  await owned.peer?.stop().catch(() => undefined);
  await owned.runtime?.stop().catch(() => undefined);
  await owned.emulators?.stop().catch(() => undefined);
};

/** npm runs us under `sh -c`, which dies on SIGTERM without passing it on: stop if orphaned. */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
}, 1_000).unref();

/** p50 of `count` sequential calls, ms. */
const roundTrip = async (count: number, call: () => Promise<unknown>) => {
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await call();
    values.push(performance.now() - t);
  }
  return percentile(values, 50);
};

const emulatorFloor = async (emulators: Emulators, runtime: Runtime) => {
  // These clients are metered too; the caller resets the meter afterwards.
  const dynamodb = makeDynamoClient({ dynamodbEndpoint: emulators.dynamodbEndpoint, region: 'us-east-1' });
  const sqs = makeSqsClient({ sqsEndpoint: emulators.sqsEndpoint, region: 'us-east-1' });
  try {
    const dynamodbMs = await roundTrip(200, () =>
      dynamodb.send(
        new GetItemCommand({
          TableName: runtime.provisioned.tables.devices,
          Key: { pk: { S: 'none' }, sk: { S: 'none' } },
        }),
      ),
    );
    const sqsMs = await roundTrip(200, () =>
      sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: runtime.provisioned.queueUrls['stream-dlq']!,
          AttributeNames: ['QueueArn'],
        }),
      ),
    );
    const gatewayMs = await roundTrip(200, () => fetch(`${runtime.baseUrl}/v1/health`).then((r) => r.text()));
    return { dynamodbGetItemMs: dynamodbMs, sqsCallMs: sqsMs, gatewayHealthMs: gatewayMs };
  } finally {
    dynamodb.destroy();
    sqs.destroy();
  }
};

const main = async () => {
  const results: Record<string, unknown> = {
    mode: MODE,
    machine: machine(),
    startedAt: new Date().toISOString(),
    options: {
      devices: DEVICES,
      flatChanges: FLAT_CHANGES,
      rate: RATE,
      pairs: PAIRS,
      flatPairs: FLAT_PAIRS,
      profile,
    },
    prices: PRICES,
  };

  // 1. Core cost per delivery.
  log('core cost per delivery…');
  const core: CoreResult[] = runCore({ iterations: profile.coreIterations, rounds: profile.coreRounds });
  results.core = core;

  // 5a. Bundles and init.
  log('bundling every function and timing fresh imports…');
  const bundles: BundleResult[] = await measureBundles({ repeats: profile.initRepeats });
  results.bundles = bundles;

  // Everything that runs on the emulators.
  log('starting DynamoDB Local, fauxqs, the local runtime and the peer…');
  const meter = new AwsMeter();
  meter.install();
  owned.emulators = await startEmulators();
  registerExitHook({ stop: stopAll });
  owned.runtime = await startRuntime({ endpoints: owned.emulators, prefix: `bench${process.pid}-`, port: 0 });
  owned.peer = await startPeerServer();
  const { emulators, runtime, peer } = owned as Required<Owned>;
  const setup: SyncHubSetup = { runtime, dynamodbEndpoint: emulators.dynamodbEndpoint, meter };
  const javaPid = javaChild();

  results.emulatorFloor = await emulatorFloor(emulators, runtime);
  meter.reset();

  let runNumber = 0;
  const syncHubRun = async (label: string, deviceCount: number, plan: WritePlan, trace: boolean) => {
    const userId = `${label}-${++runNumber}`;
    const registered = await registerUser(setup, userId, deviceCount);
    meter.reset();
    meter.trace = trace;
    const stopSampling = sampleMemory(javaPid);
    const cpuBefore = process.cpuUsage();
    const javaBefore = cpuSecondsOf(javaPid);
    const wallBefore = Date.now();
    const result = await runSyncHubLoad(registered, plan, {
      pollWaitSeconds: POLL_WAIT_SECONDS,
      deadlineMs: Math.max(120_000, plan.writes * deviceCount * 20),
    });
    const cpu = process.cpuUsage(cpuBefore);
    const wall = (Date.now() - wallBefore) / 1000;
    const memory = stopSampling();
    const counts = meter.snapshot();
    const traces = meter.traces;
    const streamBatches = meter.streamBatches;
    meter.trace = false;
    meter.reset();
    const summary = summarizeLoad(result);
    const economy = economyOf(counts, result.http, streamBatches, result.deliveries.length);
    const stages = trace
      ? stageBreakdown(
          result.writes,
          result.deliveries,
          await readLog(emulators.dynamodbEndpoint, runtime.provisioned.tables.sync, userId),
          traces,
          registered.devices.map((device) => device.deviceId),
          percentile,
        )
      : undefined;
    if (!result.complete)
      log(`  ${label}: NOT complete (${summary.missing} write-deliveries missing at the deadline)`);
    return {
      summary,
      economy,
      stages,
      memory,
      cpu: {
        nodeSeconds: (cpu.user + cpu.system) / 1e6,
        javaSeconds: cpuSecondsOf(javaPid) - javaBefore,
        wallSeconds: wall,
      },
      counts,
      http: result.http,
    };
  };
  let peerNumber = 0;
  const peerRun = async (replicas: number, plan: WritePlan) => {
    const stopSampling = sampleMemory(undefined);
    const cpuBefore = process.cpuUsage();
    const result = await runPeerLoad(peer, `bench-${++peerNumber}`, replicas, plan, {
      deadlineMs: Math.max(120_000, plan.writes * replicas * 20),
    });
    const cpu = process.cpuUsage(cpuBefore);
    const memory = stopSampling();
    const summary = summarizeLoad(result);
    if (!result.complete)
      log(`  peer: NOT complete (${summary.missing} write-deliveries missing at the deadline)`);
    return {
      summary,
      serverRequests: result.serverRequests,
      memory,
      cpu: { nodeSeconds: (cpu.user + cpu.system) / 1e6 },
    };
  };

  // 3 + 4. End to end, SyncHub and the peer in alternating pairs: fixed rate, then flat out.
  const e2e: Record<string, unknown> = {};
  const ratePlan: WritePlan = {
    writes: RATE * profile.rateSeconds,
    objects: Math.max(1, Math.ceil((RATE * profile.rateSeconds) / 2)),
    mode: 'rate',
    rate: RATE,
    concurrency: 64,
  };
  const flatPlan: WritePlan = {
    writes: FLAT_CHANGES,
    objects: Math.max(1, Math.ceil(FLAT_CHANGES / 2)),
    mode: 'flat',
    concurrency: CONCURRENCY,
  };
  for (const [name, plan, pairs] of [
    ['rate', ratePlan, PAIRS],
    ['flat', flatPlan, FLAT_PAIRS],
  ] as const) {
    const synchub: Awaited<ReturnType<typeof syncHubRun>>[] = [];
    const peers: Awaited<ReturnType<typeof peerRun>>[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      log(
        `end to end, ${name === 'rate' ? `${RATE} writes/s` : 'flat out'}: ${plan.writes} changes × ${DEVICES} devices, pair ${pair + 1}/${pairs}…`,
      );
      // Alternate who goes first, so warm-up and drift fall on both sides.
      if (pair % 2 === 0) {
        synchub.push(await syncHubRun(`e2e-${name}`, DEVICES, plan, true));
        peers.push(await peerRun(DEVICES, plan));
      } else {
        peers.push(await peerRun(DEVICES, plan));
        synchub.push(await syncHubRun(`e2e-${name}`, DEVICES, plan, true));
      }
    }
    const pick = <T>(runs: T[], f: (run: T) => number) => summarize(runs.map(f));
    e2e[name] = {
      plan: {
        writes: plan.writes,
        objects: plan.objects,
        mode: plan.mode,
        rate: plan.rate,
        concurrency: plan.concurrency,
        devices: DEVICES,
      },
      synchub: synchub.map(({ counts: _counts, ...run }) => run),
      peer: peers,
      median: {
        synchub: {
          p50: pick(synchub, (r) => r.summary.p50),
          p95: pick(synchub, (r) => r.summary.p95),
          p99: pick(synchub, (r) => r.summary.p99),
          deliveriesPerSecond: pick(synchub, (r) => r.summary.deliveriesPerSecond),
          requestsPerDelivery: pick(synchub, (r) => r.economy.handlerRequestsPerDelivery),
          costPerMillion: pick(synchub, (r) => r.economy.costPerMillionDeliveries.total),
        },
        peer: {
          p50: pick(peers, (r) => r.summary.p50),
          p95: pick(peers, (r) => r.summary.p95),
          p99: pick(peers, (r) => r.summary.p99),
          deliveriesPerSecond: pick(peers, (r) => r.summary.deliveriesPerSecond),
          serverRequestsPerDelivery: pick(peers, (r) => r.serverRequests / Math.max(1, r.summary.n)),
        },
        /** SyncHub / peer, per pair. */
        ratio: {
          p50: summarize(synchub.map((r, i) => ratio(r.summary.p50, peers[i]!.summary.p50))),
          p95: summarize(synchub.map((r, i) => ratio(r.summary.p95, peers[i]!.summary.p95))),
          p99: summarize(synchub.map((r, i) => ratio(r.summary.p99, peers[i]!.summary.p99))),
          throughput: summarize(
            synchub.map((r, i) =>
              ratio(r.summary.deliveriesPerSecond, peers[i]!.summary.deliveriesPerSecond),
            ),
          ),
        },
      },
    };
  }
  results.e2e = e2e;

  // 4b. The same PouchDB workload replicated into SyncHub's CouchDB front and into the peer.
  log(`PouchDB replication of ${profile.pouchDocs} documents: SyncHub's CouchDB front, then the peer…`);
  const pouchUser = new SyncHubUser(
    runtime.baseUrl,
    await localUserToken(runtime.baseUrl, `pouch-${++runNumber}`),
  );
  const couchDevices = [
    await pouchUser.registerDevice('couchdb' as 'json', 'writer'),
    await pouchUser.registerDevice('couchdb' as 'json', 'reader'),
  ];
  const synchubPouch = await runPouchReplication(
    {
      url: `${runtime.baseUrl}/v1/couchdb`,
      auth: [
        { username: couchDevices[0]!.deviceId, password: couchDevices[0]!.deviceToken },
        { username: couchDevices[1]!.deviceId, password: couchDevices[1]!.deviceToken },
      ],
    },
    profile.pouchDocs,
    profile.pouchEdits,
  );
  const peerDatabase = `${peer.url}/bench-pouch-${process.pid}`;
  await fetch(peerDatabase, { method: 'PUT' });
  const peerPouch = await runPouchReplication({ url: peerDatabase }, profile.pouchDocs, profile.pouchEdits);
  await fetch(peerDatabase, { method: 'DELETE' }).catch(() => undefined);
  results.pouch = {
    synchub: synchubPouch,
    peer: peerPouch,
    ratio: {
      push: ratio(synchubPouch.pushSeconds, peerPouch.pushSeconds),
      pull: ratio(synchubPouch.pullSeconds, peerPouch.pullSeconds),
      pullComplete: ratio(synchubPouch.pullCompleteSeconds, peerPouch.pullCompleteSeconds),
      liveP50: ratio(synchubPouch.liveMs.median, peerPouch.liveMs.median),
    },
  };

  // 6a. Devices per user.
  const scale: Record<string, unknown>[] = [];
  for (const devices of profile.deviceScale) {
    const writes = Math.max(
      10,
      Math.min(profile.scaleMaxWrites, Math.round(profile.scaleDeliveries / devices)),
    );
    log(`scale: ${devices} device(s) per user, ${writes} changes flat out…`);
    const run = await syncHubRun(
      `scale-d${devices}`,
      devices,
      { writes, objects: Math.ceil(writes / 2), mode: 'flat', concurrency: CONCURRENCY },
      false,
    );
    scale.push({ devicesPerUser: devices, writes, ...run, counts: undefined });
  }
  results.devicesPerUser = scale;

  // 2b. Batch size: changes written in bursts, each burst delivered before the next.
  const batches: Record<string, unknown>[] = [];
  for (const [index, burst] of profile.bursts.entries()) {
    const writes = profile.burstWrites[index]!;
    log(`batch size: bursts of ${burst} change(s), ${writes} changes × ${DEVICES} devices…`);
    const run = await syncHubRun(
      `burst-${burst}`,
      DEVICES,
      {
        writes,
        objects: Math.ceil(writes / 2),
        mode: 'flat',
        concurrency: Math.min(CONCURRENCY, burst),
        burst,
      },
      false,
    );
    batches.push({ burst, writes, ...run, counts: undefined });
  }
  results.batchSize = batches;

  // 6b. Resync through the snapshot endpoint.
  const resync: Record<string, unknown>[] = [];
  for (const objects of profile.resync) {
    log(`resync: seeding ${objects.toLocaleString('en-US')} replicas, then a device reads the snapshot…`);
    const userId = `resync-${objects}-${++runNumber}`;
    const registered = await registerUser(setup, userId, 1);
    await seedReplicas(emulators.dynamodbEndpoint, runtime.provisioned.tables.sync, userId, objects);
    meter.reset();
    const t = performance.now();
    await registered.devices[0]!.resync();
    const seconds = (performance.now() - t) / 1000;
    const counts = meter.snapshot();
    meter.reset();
    const held = registered.devices[0]!.objects.size;
    resync.push({
      objects,
      held,
      seconds,
      objectsPerSecond: objects / seconds,
      pages: Math.ceil(objects / 100),
      awsRequests: counts.reduce((sum, count) => sum + count.calls, 0),
      readUnits: counts.reduce((sum, count) => sum + count.readUnits, 0),
      counts,
    });
  }
  results.resync = resync;

  // An idle device: what listening costs when nothing happens.
  log(`idle device: ${profile.idlePolls} long polls of ${profile.idleWait} s with nothing to receive…`);
  const idle = await measureIdlePolls(setup, `idle-${++runNumber}`, profile.idlePolls, profile.idleWait);
  const DEFAULT_IDLE_WAIT = 20;
  const pollsPerMonth = (30 * 24 * 3600) / DEFAULT_IDLE_WAIT;
  const syncApiMemoryGb =
    (FUNCTIONS.find((definition) => definition.key === 'sync-api')?.memoryMb ?? 512) / 1024;
  const perPoll = {
    dynamodb: ((idle.calls['DynamoDB GetItem devices'] ?? 0) * PRICES.dynamodbPerMillionReadUnits) / 1e6,
    sqs:
      (idle.callsPerPoll - (idle.calls['DynamoDB GetItem devices'] ?? 0)) *
      (PRICES.sqsFifoPerMillionRequests / 1e6),
    lambdaRequest: PRICES.lambdaPerMillionRequests / 1e6,
    lambdaDuration: DEFAULT_IDLE_WAIT * syncApiMemoryGb * PRICES.lambdaArmPerGbSecond,
    httpApi: PRICES.httpApiPerMillionRequests / 1e6,
  };
  results.idleDevice = {
    ...idle,
    assumedWaitSeconds: DEFAULT_IDLE_WAIT,
    pollsPerMonth,
    awsRequestsPerMonth: idle.callsPerPoll * pollsPerMonth,
    costPerMonth: Object.fromEntries(Object.entries(perPoll).map(([k, v]) => [k, v * pollsPerMonth])),
    costPerMonthTotal: Object.values(perPoll).reduce((sum, v) => sum + v, 0) * pollsPerMonth,
    syncApiMemoryMb: syncApiMemoryGb * 1024,
  };

  // Change capture for one user, the writer out of the way.
  log(`capture: ${profile.captureObjects} objects of one user written straight to the objects table…`);
  results.capture = await measureCapture(setup, `capture-${++runNumber}`, profile.captureObjects);

  results.finishedAt = new Date().toISOString();
  results.seconds = (Date.now() - started) / 1000;

  mkdirSync(args.out!, { recursive: true });
  const file = join(args.out!, `bench-${MODE}-${results.startedAt as string}.json`.replace(/:/g, '-'));
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  for (const [name, chart] of Object.entries(charts(results)))
    writeFileSync(file.replace(/\.json$/, `-${name}.svg`), chart);
  printTable(results);
  console.log(`\nJSON: ${file}   (${MODE} mode, ${fmt((Date.now() - started) / 1000)} s)`);
};

// ───────────────────────────────────────────── the pictures
// biome-ignore lint/suspicious/noExplicitAny: the results object is drawn as it was built
const charts = (r: any): Record<string, string> => {
  const e2e = r.e2e;
  const series = [];
  for (const [name, label] of [
    ['rate', `${r.options.rate} writes/s`],
    ['flat', 'flat out'],
  ] as const) {
    series.push({ label: `SyncHub, ${label}`, values: e2e[name].synchub[0].summary.distribution });
    series.push({ label: `peer, ${label}`, values: e2e[name].peer[0].summary.distribution });
  }
  const stages = (run: { stages?: { stages: Record<string, { p50: number }> } }) =>
    Object.fromEntries(Object.entries(run.stages?.stages ?? {}).map(([k, v]) => [k, v.p50]));
  return {
    latency: latencyChart(
      `Latency, ${r.options.devices} devices: SyncHub vs the CouchDB-protocol peer (first pair)`,
      DISTRIBUTION_POINTS,
      series,
    ),
    requests: barChart('AWS requests per delivered change', 'handler calls to DynamoDB + SQS', [
      {
        name: 'devices per user (flat out)',
        bars: r.devicesPerUser.map(
          (s: { devicesPerUser: number; economy: { handlerRequestsPerDelivery: number } }) => ({
            label: `${s.devicesPerUser}`,
            value: s.economy.handlerRequestsPerDelivery,
          }),
        ),
        target: 0.6,
      },
      {
        name: `changes per burst (${r.options.devices} devices)`,
        bars: r.batchSize.map((b: { burst: number; economy: { handlerRequestsPerDelivery: number } }) => ({
          label: `${b.burst}`,
          value: b.economy.handlerRequestsPerDelivery,
        })),
      },
    ]),
    stages: stageChart("Where a delivery's time goes (median per hop)", [
      { name: `${r.options.rate} writes/s`, stages: stages(e2e.rate.synchub[0]) },
      { name: 'flat out', stages: stages(e2e.flat.synchub[0]) },
    ]),
  };
};

// ───────────────────────────────────────────── the table
// biome-ignore lint/suspicious/noExplicitAny: the results object is printed as it was built
const printTable = (r: any) => {
  const rows: [string, string, string][] = [];
  const section = (title: string) => rows.push([`── ${title}`, '', '']);
  const row = (figure: string, value: string, meaning: string) => rows.push([figure, value, meaning]);
  const m = r.machine;
  console.log(
    `\nSyncHub benchmark (${r.mode}) on ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}\n`,
  );

  section('1. Core cost per delivery (CPU, pure core)');
  for (const c of r.core as CoreResult[])
    row(
      `${c.platform} ${c.op} (${c.generator})`,
      `${fmtSummary(c.microsPerDelivery)} µs = ${fmt(c.deliveriesPerSecondPerCore)}/s/core; ×${fmtSummary(c.ratio)} floor`,
      `capture plan + selection + codec for one device, vs JSON stringify+parse of the same ${c.messageBytes} B message (target ≤ ×5)`,
    );

  const e2e = r.e2e;
  const rate = e2e.rate.median;
  const flat = e2e.flat.median;
  section('2. AWS request economy (SDK calls counted by middleware)');
  row(
    'requests per delivered change',
    `${fmtSummary(rate.synchub.requestsPerDelivery)} (fixed rate), ${fmtSummary(flat.synchub.requestsPerDelivery)} (flat out)`,
    `handler calls to DynamoDB + SQS / changes delivered, ${r.options.devices} devices per user (target ≤ 0.6)`,
  );
  const firstFlat = e2e.flat.synchub[0];
  const ops = Object.entries(firstFlat.economy.perOperation as Record<string, number>).sort(
    (a, b) => b[1] - a[1],
  );
  for (const [op, perDelivery] of ops.slice(0, 8))
    row(`  ${op}`, fmt(perDelivery), 'calls per delivered change (flat-out run 1)');
  for (const [name, run] of [
    ['fixed rate', e2e.rate.synchub[0]],
    ['flat out', firstFlat],
  ] as const) {
    const byFunction = Object.entries(run.economy.byFunction as Record<string, Record<string, number>>)
      .map(([fn, calls]) => [fn, Object.values(calls).reduce((sum, n) => sum + n, 0)] as const)
      .sort((a, b) => b[1] - a[1]);
    row(
      `  by function, ${name}`,
      byFunction.map(([fn, n]) => `${fn} ${fmt(n)}`).join(', '),
      'calls per delivered change by the function making them (run 1)',
    );
  }
  const c = firstFlat.economy.costPerMillionDeliveries;
  row(
    'cost per million deliveries',
    `$${fmt(flat.synchub.costPerMillion.median)} flat, $${fmt(rate.synchub.costPerMillion.median)} fixed rate`,
    `${r.prices.region} list prices of ${r.prices.checked}: DynamoDB $${fmt(c.dynamodb)} + SQS $${fmt(c.sqs)} + Lambda req $${fmt(c.lambda)} + HTTP API $${fmt(c.apiGateway)} (flat run 1; Lambda duration not included)`,
  );
  for (const b of r.batchSize)
    row(
      `  bursts of ${b.burst}`,
      `${fmt(b.economy.handlerRequestsPerDelivery)} req, $${fmt(b.economy.costPerMillionDeliveries.total)}/M`,
      `requests and cost per delivery when changes arrive ${b.burst} at a time (${r.options.devices} devices)`,
    );
  for (const s of r.devicesPerUser)
    row(
      `  ${s.devicesPerUser} device(s)/user`,
      `${fmt(s.economy.handlerRequestsPerDelivery)} req, $${fmt(s.economy.costPerMillionDeliveries.total)}/M`,
      'requests and cost per delivery, flat out, by devices per user',
    );

  section(`3+4. End to end: ${r.options.devices} devices, SyncHub vs CouchDB-protocol peer (PouchDB)`);
  for (const [name, x] of [
    [`fixed rate ${r.options.rate} writes/s`, rate],
    [`flat out (${e2e.flat.plan.writes} changes)`, flat],
  ] as const) {
    row(
      `${name}: latency p50/p95/p99`,
      `${fmt(x.synchub.p50.median)} / ${fmt(x.synchub.p95.median)} / ${fmt(x.synchub.p99.median)} ms`,
      'SyncHub write (objects API) → change applied on the device',
    );
    row(
      '  peer p50/p95/p99',
      `${fmt(x.peer.p50.median)} / ${fmt(x.peer.p95.median)} / ${fmt(x.peer.p99.median)} ms`,
      'peer write (CouchDB PUT) → revision in the live-replicating PouchDB',
    );
    row(
      '  SyncHub/peer latency',
      `p50 ×${fmtSummary(x.ratio.p50)}, p99 ×${fmtSummary(x.ratio.p99)}`,
      'ratio per pair of the same run (target p99 ≤ ×1)',
    );
    row(
      '  deliveries/s',
      `${fmtSummary(x.synchub.deliveriesPerSecond)} vs peer ${fmtSummary(x.peer.deliveriesPerSecond)}`,
      'write-deliveries per second, first write to last delivery',
    );
    row('  SyncHub/peer throughput', `×${fmtSummary(x.ratio.throughput)}`, 'ratio per pair (target ≥ ×1)');
    row(
      '  peer HTTP requests/delivery',
      fmtSummary(x.peer.serverRequestsPerDelivery),
      'requests the CouchDB server answered (writes + replication) per write-delivery, for scale',
    );
  }
  const stages = e2e.flat.synchub[0].stages;
  const rateStages = e2e.rate.synchub[0].stages;
  if (stages && rateStages)
    for (const name of STAGE_NAMES)
      row(
        `  stage: ${name}`,
        `${fmt(rateStages.stages[name].p50)} ms (rate), ${fmt(stages.stages[name].p50)} ms (flat)`,
        'median time in this hop per delivery (from updatedAt, log `at`, queue calls)',
      );
  const f = r.emulatorFloor;
  row(
    'emulator call floor',
    `DynamoDB ${fmt(f.dynamodbGetItemMs)} ms, SQS ${fmt(f.sqsCallMs)} ms, gateway ${fmt(f.gatewayHealthMs)} ms`,
    'p50 of one idle call: what each of the ~15 calls on a delivery path costs locally',
  );
  const payloads: Record<string, PayloadSizes> = {};
  for (const run of [...e2e.rate.synchub, ...e2e.flat.synchub])
    for (const [platform, sizes] of Object.entries(
      (run.http.payloads ?? {}) as Record<string, PayloadSizes>,
    )) {
      const total = payloads[platform] ?? { messages: 0, bytes: 0, edits: 0, editBytes: 0 };
      total.messages += sizes.messages;
      total.bytes += sizes.bytes;
      total.edits += sizes.edits;
      total.editBytes += sizes.editBytes;
      payloads[platform] = total;
    }
  for (const [platform, sizes] of Object.entries(payloads)) {
    const adds = sizes.messages - sizes.edits;
    row(
      `bytes per delivery, ${platform}`,
      `${fmt(sizes.bytes / Math.max(1, sizes.messages))} B (add ${fmt((sizes.bytes - sizes.editBytes) / Math.max(1, adds))} B, one-field edit ${fmt(sizes.editBytes / Math.max(1, sizes.edits))} B)`,
      'change payload a device receives (JSON), mean over both end-to-end runs: ~700 B contacts, each added then edited in one field (jsonpatch edit: target < 150 B)',
    );
  }
  if (stages && rateStages) {
    // The router's own calls (the adapter queries the devices too): one device Query per
    // invocation (one user per run), one send per adapter queue.
    const shareOf = (breakdown: { stages: Record<string, { p50: number }> }) => {
      const sum = Object.values(breakdown.stages).reduce((total, stage) => total + stage.p50, 0);
      return (100 * breakdown.stages['sync stream + router']!.p50) / Math.max(1, sum);
    };
    const routerOf = (run: { economy: { byFunction: Record<string, Record<string, number>> } }) => {
      const own = run.economy.byFunction.router ?? {};
      return {
        calls: Object.values(own).reduce((sum, n) => sum + n, 0),
        invocations: own['DynamoDB Query devices'] ?? 0,
      };
    };
    const rateRouter = routerOf(e2e.rate.synchub[0]);
    const flatRouter = routerOf(firstFlat);
    row(
      'sync-table stream hop',
      `${fmt(rateStages.stages['sync stream + router'].p50)} ms = ${fmt(shareOf(rateStages))} % (rate), ${fmt(stages.stages['sync stream + router'].p50)} ms = ${fmt(shareOf(stages))} % (flat)`,
      "log entry written → envelope sent (stream pickup + router): median, and its share of the stages' medians summed",
    );
    row(
      '  router requests/delivery',
      `${fmt(rateRouter.calls)} (rate), ${fmt(flatRouter.calls)} (flat); invocations ${fmt(rateRouter.invocations)}, ${fmt(flatRouter.invocations)}`,
      "the router's DynamoDB + SQS calls and Lambda invocations per delivered change; without the hop capture would make the same calls in its own invocation",
    );
  }
  const conflicts = [...e2e.rate.synchub, ...e2e.flat.synchub].reduce(
    (sum: number, run: { http: { ackConflicts?: number; acks: number } }) =>
      sum + (run.http.ackConflicts ?? 0),
    0,
  );
  const acks = [...e2e.rate.synchub, ...e2e.flat.synchub].reduce(
    (sum: number, run: { http: { acks: number } }) => sum + run.http.acks,
    0,
  );
  const polls = [...e2e.rate.synchub, ...e2e.flat.synchub].reduce(
    (sum: number, run: { http: { polls: number } }) => sum + run.http.polls,
    0,
  );
  row(
    'acks refused (409)',
    `${conflicts} of ${acks + polls}`,
    'acknowledgements (carried by polls) refused as "beyond the last message sent" (a race in the system)',
  );
  const cpu = e2e.flat.synchub[0].cpu;
  row(
    'CPU during flat run',
    `node ${fmt(cpu.nodeSeconds)} s, java ${fmt(cpu.javaSeconds)} s in ${fmt(cpu.wallSeconds)} s`,
    'node = handlers + gateway + fauxqs + devices (one core at most); java = DynamoDB Local',
  );

  const p = r.pouch;
  section(`4b. PouchDB replication: SyncHub's CouchDB front vs the peer (${p.synchub.docs} documents)`);
  row(
    'push (replicate.to)',
    `${fmt(p.synchub.pushSeconds)} s vs peer ${fmt(p.peer.pushSeconds)} s, ×${fmt(p.ratio.push)}`,
    'a PouchDB 9 client pushes new documents one-shot (_revs_diff, _bulk_docs, checkpoints); SyncHub/peer',
  );
  row(
    'pull (replicate.from)',
    `${fmt(p.synchub.pullSeconds)} s vs peer ${fmt(p.peer.pullSeconds)} s, ×${fmt(p.ratio.pull)}`,
    'a second, fresh PouchDB pulls them all (_changes, _bulk_get): until it holds every document',
  );
  row(
    'pull, replication complete',
    `${fmt(p.synchub.pullCompleteSeconds)} s vs peer ${fmt(p.peer.pullCompleteSeconds)} s, ×${fmt(p.ratio.pullComplete)}`,
    "until the one-shot pull ends: on SyncHub it pages through the push's echoes arriving in its inbox",
  );
  row(
    'live edit → other PouchDB',
    `p50 ${fmt(p.synchub.liveMs.median)} ms vs peer ${fmt(p.peer.liveMs.median)} ms, ×${fmt(p.ratio.liveP50)}`,
    `${p.synchub.liveEdits} edits one at a time while both sync live; SyncHub carries them through its change log`,
  );

  section('5. Cold start and footprint');
  for (const b of r.bundles as BundleResult[]) {
    const { runtimeSdk, untraced } = b.variants;
    row(
      `${b.function}`,
      `${fmt(b.bytes / 1024)} KB, init ${fmtSummary(b.initMs)} ms; runtime SDK ${fmt(runtimeSdk.bytes / 1024)} KB, ${fmt(runtimeSdk.initMs.median)} ms; untraced ${fmt(untraced.initMs.median)} ms`,
      `minified ESM, median fresh import (as deployed: SDK bundled, tracing on); largest: ${b.topPackages
        .slice(0, 3)
        .map((p) => `${p.name} ${Math.round(p.bytes / 1024)} KB`)
        .join(', ')} (target < 150 KB, < 50 ms)`,
    );
  }
  const mem = e2e.flat.synchub[0].memory;
  row(
    'memory under load',
    `node ${fmt(mem.nodeRssMiB)} MiB RSS (heap ${fmt(mem.nodeHeapMiB)}), java ${fmt(mem.javaRssMiB)} MiB`,
    'peak during the flat-out run: local runtime + fauxqs + devices in node; DynamoDB Local in java',
  );

  const idle = r.idleDevice;
  row(
    'idle device',
    `${fmt(idle.callsPerPoll)} AWS req/poll; ${fmt(idle.awsRequestsPerMonth)} AWS req and $${fmt(idle.costPerMonthTotal)} per month`,
    `long polls of ${idle.assumedWaitSeconds} s with nothing to receive (measured at ${r.options.profile.idleWait} s); of the cost, Lambda duration $${fmt(idle.costPerMonth.lambdaDuration)} (sync-api ${idle.syncApiMemoryMb} MB × ${idle.assumedWaitSeconds} s per poll)`,
  );
  row(
    'change capture, one user',
    `${fmt(r.capture.changesPerSecond)} changes/s`,
    `${r.capture.objects} objects written straight to the objects table → all in the user's change log, ${fmt(r.capture.seconds)} s (target ≥ 200/s)${r.capture.complete ? '' : ' — NOT complete'}`,
  );

  section('6. Scale');
  for (const s of r.devicesPerUser)
    row(
      `${s.devicesPerUser} device(s)/user`,
      `p50 ${fmt(s.summary.p50)} / p99 ${fmt(s.summary.p99)} ms, ${fmt(s.summary.deliveriesPerSecond)}/s`,
      `${s.writes} changes flat out; latency and throughput by devices per user`,
    );
  for (const s of r.resync)
    row(
      `resync ${s.objects.toLocaleString('en-US')} objects`,
      `${fmt(s.seconds)} s, ${s.awsRequests} AWS req, ${fmt(s.readUnits)} RRU`,
      `device SDK resync through GET /v1/sync/snapshot (${s.pages} pages of 100), ${fmt(s.objectsPerSecond)} objects/s`,
    );

  const width = [Math.max(...rows.map((x) => x[0].length)), Math.max(...rows.map((x) => x[1].length))];
  for (const [a, b, cText] of rows)
    console.log(
      b === '' && cText === '' ? `\n${a}` : `${a.padEnd(width[0]!)}  ${b.padEnd(width[1]!)}  ${cText}`,
    );
};

main()
  .then(async () => {
    await stopAll();
    process.exit(0);
  })
  .catch(async (error: unknown) => {
    console.error(
      `\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    await stopAll();
    process.exit(1);
  });
