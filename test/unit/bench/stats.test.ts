import { describe, expect, it } from 'vitest';
import { barChart, latencyChart, stageChart } from '../../../bench/charts';
import { economyOf } from '../../../bench/economy';
import { callerOf, inboxDevice, queueKind } from '../../../bench/meter';
import { costOf } from '../../../bench/pricing';
import { fmt, percentile, ratio, summarize } from '../../../bench/stats';
import { latencies } from '../../../bench/workload';

describe('bench statistics', () => {
  it('interpolates percentiles between closest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 1, 5], 0)).toBe(1);
    expect(percentile([10, 1, 5], 100)).toBe(10);
    expect(
      percentile(
        Array.from({ length: 101 }, (_, i) => i),
        99,
      ),
    ).toBe(99);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('summarizes repeats as median and relative half-range, ignoring non-finite values', () => {
    expect(summarize([9, 10, 11, Number.NaN])).toEqual({ median: 10, min: 9, max: 11, spread: 0.1, n: 3 });
    expect(summarize([]).n).toBe(0);
  });

  it('keeps ratios and formatting readable at the edges', () => {
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(3, 2)).toBe(1.5);
    expect(fmt(Number.NaN)).toBe('n/a');
    expect(fmt(12345.6)).toBe('12,346');
    expect(fmt(0.012345)).toBe('0.0123');
  });
});

describe('bench workload accounting', () => {
  it('counts a write as delivered when the device first holds that version or a later one', () => {
    const { values, missing } = latencies({
      devices: 2,
      complete: false,
      finishedAt: 0,
      writes: [
        { objectId: 'a', version: 1, sentAt: 100 },
        { objectId: 'a', version: 2, sentAt: 110 },
      ],
      deliveries: [
        { device: 0, objectId: 'a', version: 1, at: 150 },
        { device: 0, objectId: 'a', version: 2, at: 160 },
        // Device 1 skipped revision 1 (as CouchDB replication may) and never saw a later one late.
        { device: 1, objectId: 'a', version: 2, at: 200 },
      ],
    });
    expect(values.sort((x, y) => x - y)).toEqual([50, 50, 90, 100]);
    expect(missing).toBe(0);
  });
});

describe('bench meter and economy', () => {
  it('names the function that made a client from the stack at its creation', () => {
    const frames = (...paths: string[]) =>
      ['Error', ...paths.map((path) => `    at file:///work/x/${path}:1:1`)].join('\n');
    expect(callerOf(frames('aws/clients.ts', 'functions/router.ts', 'local/runtime.ts'))).toBe('router');
    expect(callerOf(frames('aws/clients.ts', 'functions/http/sync.ts', 'local/runtime.ts'))).toBe(
      'http/sync',
    );
    expect(callerOf(frames('aws/clients.ts', 'local/event-sources/sqs.ts'))).toBe('local');
    expect(callerOf(frames('aws/clients.ts', 'bench/run.ts'))).toBe('bench');
  });

  it('classifies queues and finds the device of an inbox', () => {
    expect(queueKind('http://127.0.0.1:1/000/p-inbox-dev1.fifo')).toBe('inbox');
    expect(queueKind('http://127.0.0.1:1/000/p-adapter-json.fifo')).toBe('adapter');
    expect(queueKind('http://127.0.0.1:1/000/p-adapter-json-dlq.fifo')).toBe('dlq');
    expect(inboxDevice('http://127.0.0.1:1/000/p-inbox-dev1.fifo')).toBe('dev1');
  });

  it('divides handler calls by deliveries and leaves empty event-source polls out', () => {
    const base = {
      errors: 0,
      readUnits: 0,
      writeUnits: 0,
      billedRequests: 0,
      fifo: true,
      empty: 0,
      totalMs: 0,
    };
    const economy = economyOf(
      [
        {
          ...base,
          service: 'DynamoDB',
          caller: 'http/sync',
          operation: 'GetItem',
          target: 'devices',
          eventSource: false,
          calls: 10,
          readUnits: 10,
          fifo: false,
        },
        {
          ...base,
          service: 'SQS',
          caller: 'adapter',
          operation: 'SendMessageBatch',
          target: 'inbox',
          eventSource: false,
          calls: 5,
          billedRequests: 5,
        },
        {
          ...base,
          service: 'SQS',
          caller: 'local',
          operation: 'ReceiveMessage',
          target: 'adapter',
          eventSource: true,
          calls: 7,
          billedRequests: 7,
          empty: 4,
        },
      ],
      { puts: 1, polls: 2, acks: 2, snapshots: 0 },
      1,
      20,
    );
    expect(economy.handlerRequestsPerDelivery).toBe(0.75);
    expect(economy.allRequestsPerDelivery).toBe(0.9);
    expect(economy.perOperation['DynamoDB GetItem devices']).toBe(0.5);
    expect(economy.byFunction).toEqual({
      'http/sync': { 'DynamoDB GetItem devices': 0.5 },
      adapter: { 'SQS SendMessageBatch inbox': 0.25 },
    });
    expect(economy.usage.sqsFifoRequests).toBe(8);
    // 3 non-empty ESM receives + 5 API requests + 1 stream batch (no authorizer invocations).
    expect(economy.usage.lambdaInvocations).toBe(9);
    expect(costOf(economy.usage).total).toBeGreaterThan(0);
  });
});

describe('bench charts', () => {
  it('gives every chart its title as the SVG text alternative, escaped', () => {
    const chart = latencyChart('p50 < p99 & more', [50, 99], [{ label: 'a', values: [10, 100] }]);
    expect(chart).toMatch(/^<svg [^>]*>\n<title>p50 &lt; p99 &amp; more<\/title>\n/);
    expect(barChart('Requests', 'calls', [{ name: 'n', bars: [{ label: '1', value: 2 }] }])).toContain(
      '<title>Requests (calls)</title>',
    );
    expect(stageChart('Stages', [{ name: 'rate', stages: { a: 1 } }])).toContain('<title>Stages</title>');
  });
});
