/**
 * Small, pure statistics helpers for the benchmark (unit-tested in test/unit/bench/stats.test.ts).
 */

/** The p-th percentile (0..100) of `values` by linear interpolation between closest ranks. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  if (p < 0 || p > 100 || Number.isNaN(p)) throw new RangeError(`percentile must be 0..100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low]!;
  return lowValue + (sorted[high]! - lowValue) * (rank - low);
};

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Median of repeats with its spread: min..max, and the relative half-range around the median. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max - min) / 2 / median, e.g. 0.05 for ±5 %; NaN when the median is 0. */
  spread: number;
  n: number;
}

export const summarize = (values: readonly number[]): Summary => {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0)
    return { median: Number.NaN, min: Number.NaN, max: Number.NaN, spread: Number.NaN, n: 0 };
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const mid = median(finite);
  return {
    median: mid,
    min,
    max,
    spread: mid === 0 ? Number.NaN : (max - min) / 2 / Math.abs(mid),
    n: finite.length,
  };
};

/** Latency percentiles of one run, in the unit of the input. */
export const latencyPercentiles = (values: readonly number[]) => ({
  p50: percentile(values, 50),
  p95: percentile(values, 95),
  p99: percentile(values, 99),
  max: values.length === 0 ? Number.NaN : Math.max(...values),
  n: values.length,
});

/** A ratio that stays readable when the denominator is 0 or missing. */
export const ratio = (numerator: number, denominator: number): number =>
  denominator === 0 || !Number.isFinite(denominator) ? Number.NaN : numerator / denominator;

/** Formats a number for the table: 3 significant digits, thousands kept whole. */
export const fmt = (value: number, digits = 3): string => {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 10 ** digits) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
};

/** "12.3 (±4 %)" for a summary. */
export const fmtSummary = (summary: Summary, digits = 3): string =>
  summary.n <= 1 || !Number.isFinite(summary.spread)
    ? fmt(summary.median, digits)
    : `${fmt(summary.median, digits)} (±${Math.round(summary.spread * 100)} %)`;
