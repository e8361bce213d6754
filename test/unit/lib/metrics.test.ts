import { describe, expect, it } from 'vitest';
import { DEPLOYMENT } from '../../../lib/definition';
import { METRICS, MetricName } from '../../../lib/metrics';

describe('metric names (lib/metrics.ts)', () => {
  it('are the ones the dashboard reads, each by its own name', () => {
    expect(DEPLOYMENT.metrics).toBe(METRICS);
    const names = [...METRICS.flow, ...METRICS.problems, METRICS.latency];
    expect(Object.values(MetricName).sort()).toEqual([...names].sort());
    for (const [key, name] of Object.entries(MetricName)) expect(key).toBe(name);
  });
});
